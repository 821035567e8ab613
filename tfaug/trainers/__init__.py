"""The three trainers: `flow` (maximum likelihood for a Glow), `classifier` (a
classifier with an augmentation inside its compiled step), `vaegan` (the VAE-GAN
baseline)."""
