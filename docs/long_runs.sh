#!/bin/bash
# The long runs of the evidence and semi-supervised studies (docs/study_evidence,
# docs/study_semi), started or resumed on this machine, from a worktree of HEAD so
# main stays editable while they run (AutoGraph reads a function's source when it
# traces). Every run resumes: a fresh checkout goes on from the records committed in
# docs/ (tuning trials, finished study runs, trained flows).
#
#   bash docs/long_runs.sh start    evidence tuning (EVIDENCE_PROCESSES, default 3,
#                                   sharing its searches), evidence study (two
#                                   processes sharing its runs, each rerun when a
#                                   search finishes while runs wait for their
#                                   tuning),
#                                   semi tuning (SEMI_PROCESSES, default 2), semi
#                                   study too with SEMI_STUDY=1
#   bash docs/long_runs.sh save     copies the backups of runs begun over SAVE_MINUTES
#                                   (default 60) ago, or saved before, up to
#                                   SAVE_MAX_MB (default 20) each, into
#                                   docs/in_progress (commit it), which
#                                   start takes back: on a fresh machine they go on
#                                   from there, not from their beginning (shorter
#                                   ones are not worth the repository's size)
#   bash docs/long_runs.sh stop | pause | resume | status
#
# Each process uses one core (TF threads 1) at nice 19; logs go to runs/*/.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=$ROOT/.venv/bin/python
PATTERN="bin/tune_methods.py|bin/study.py|long_runs.sh study-loop"

launch() {  # launch WORKTREE LOG ARGS...: one niced single-core process
  local tree=$1 log=$2; shift 2
  mkdir -p "$(dirname "$log")"
  (cd "$tree" && PYTHONPATH=$tree TF_ENABLE_ONEDNN_OPTS=1 TF_CPP_MIN_LOG_LEVEL=2 \
    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
    nohup nice -n 19 "$@" >> "$log" 2>&1 &)
}

study_loop() {  # study_loop WORKTREE evidence|semi [N]: the study, and again each
  local tree=$1 name=$2 log=$ROOT/runs/study_$2/study${3:-}.log  # time a search ends
  local tuned=$ROOT/docs/tuning/$2/tuned.json  # (its finished values) while runs wait
  while true; do
    local before seen; before=$(wc -l < "$log" 2>/dev/null || echo 0)
    seen=$(cksum < "$tuned" 2>/dev/null)
    local readme=()  # README.md's tables too, where it has the study's markers
    grep -q "study:study_fashion_mnist_$name begin" "$ROOT/README.md" &&
      readme=(--readme="$ROOT/README.md")
    (cd "$tree" && PYTHONPATH=$tree TF_ENABLE_ONEDNN_OPTS=1 TF_CPP_MIN_LOG_LEVEL=2 \
      TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 nice -n 19 \
      "$PY" bin/study.py --hparams=study_fashion_mnist_$name \
      --tuned="$ROOT/docs/tuning/$name/tuned.json" \
      --out_dir="$ROOT/runs/study_$name" \
      --publish_dir="$ROOT/docs/study_$name" "${readme[@]}" >> "$log" 2>&1)
    tail -n +$((before + 1)) "$log" | grep -q "still being tuned" || break
    while sleep 600; [ "$(cksum < "$tuned" 2>/dev/null)" = "$seen" ]; do :; done
  done
}

save() {  # the last backup of each run begun SAVE_MINUTES ago (or saved before)
  local dest=$ROOT/docs/in_progress new=$ROOT/docs/in_progress.new now
  now=$(date +%s); rm -rf "$new"; mkdir -p "$new"
  find "$ROOT/runs" -type d \( -name backup -o -name 'seed*_backup' \
       -o -name checkpoints \) -not -path '*/superseded/*' | while read -r dir; do
    local rel=${dir#"$ROOT"/runs/} unit; unit=$(dirname "$dir")  # a trial, a run, a flow
    [ -d "$unit/export" ] && continue  # a flow trained already
    local result=$unit/report.json; case $dir in *_backup) result=${dir%_backup}.json ;; esac
    [ -f "$result" ] && continue  # a run or trial seed finished: its result is on record
    [ -d "$dest/$rel" ] || [ $(( now - $(stat -c %W "$unit") )) -ge \
      $(( ${SAVE_MINUTES:-60} * 60 )) ] || continue
    local files; if [ "$(basename "$dir")" = checkpoints ]; then  # the latest of
      local latest; latest=$(sed -n 's/^model_checkpoint_path: "\(.*\)"/\1/p' \
        "$dir/checkpoint" 2>/dev/null)  # tf.train.CheckpointManager's
      [ -n "$latest" ] || continue; files="checkpoint $(cd "$dir" && ls "$latest".*)"
    else
      [ -f "$dir/latest.weights.h5" ] || continue
      files="latest.weights.h5 training_metadata.json"
    fi
    local mb; mb=$(cd "$dir" && du -cm $files | tail -1 | cut -f1)
    [ "$mb" -le "${SAVE_MAX_MB:-20}" ] || { echo "not saved: runs/$rel (${mb} MB," \
      "over SAVE_MAX_MB=${SAVE_MAX_MB:-20}; it begins again on a fresh machine)"; continue; }
    mkdir -p "$new/$rel"; for f in $files; do cp "$dir/$f" "$new/$rel/"; done
    [ -f "$unit/epoch_seconds.json" ] \
      && cp "$unit/epoch_seconds.json" "$new/${rel%/*}/"  # a run's cost so far
    case $dir in *_backup) cp "$unit"/seed*.json "$new/${rel%/*}/" 2>/dev/null ;; esac
    echo "saved runs/$rel ($(du -sh "$new/$rel" | cut -f1))"
  done
  rm -rf "$dest"; [ -n "$(ls -A "$new")" ] && mv "$new" "$dest" || rm -rf "$new"
}

case "${1:-status}" in
  start)
    [ -x "$PY" ] && [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] \
      || { echo "run 'make setup data' first (the venv and Fashion-MNIST)"; exit 1; }
    tree=$ROOT/../runner-$(git -C "$ROOT" rev-parse --short HEAD)
    [ -d "$tree" ] || git -C "$ROOT" worktree add --detach "$tree" HEAD
    tree=$(cd "$tree" && pwd)
    [ -d "$ROOT/docs/in_progress" ] && mkdir -p "$ROOT/runs" \
      && cp -rn "$ROOT/docs/in_progress/." "$ROOT/runs/"  # runs saved mid-way
    for study in evidence semi; do  # Keras Tuner goes on from the committed trials
      mkdir -p "$ROOT/runs/tune_$study"
      cp -rn "$ROOT/docs/tuning/$study/." "$ROOT/runs/tune_$study/"
    done
    for i in $(seq 1 "${EVIDENCE_PROCESSES:-3}"); do  # each takes the next search
      launch "$tree" "$ROOT/runs/tune_evidence/process$i.log" "$PY" bin/tune_methods.py \
        --hparams=tune_fashion_mnist_evidence_methods \
        --out_dir="$ROOT/runs/tune_evidence" \
        --publish_dir="$ROOT/docs/tuning/evidence"
    done
    for i in $(seq 1 "${SEMI_PROCESSES:-2}"); do
      launch "$tree" "$ROOT/runs/tune_semi/process$i.log" "$PY" bin/tune_methods.py \
        --hparams=tune_fashion_mnist_semi_methods \
        --reuse="$ROOT/docs/tuning/evidence" --out_dir="$ROOT/runs/tune_semi" \
        --publish_dir="$ROOT/docs/tuning/semi"
    done
    studies="evidence evidence:2"  # two processes share the evidence study's runs
    [ "${SEMI_STUDY:-0}" = 1 ] && studies="$studies semi"
    for study in $studies; do
      name=${study%%:*}; mkdir -p "$ROOT/runs/study_$name"
      (nohup bash "$0" study-loop "$tree" "$name" "${study#"$name"}" > /dev/null 2>&1 &)
    done
    echo "started from $tree; logs in $ROOT/runs/tune_*/process*.log and" \
         "$ROOT/runs/study_*/study*.log" ;;
  study-loop) n=${4:-}; study_loop "$2" "$3" "${n#:}" ;;
  save) save ;;
  stop) pkill -f -- "$PATTERN" ;;
  pause) pkill -STOP -f -- "bin/tune_methods.py|bin/study.py" ;;
  resume) pkill -CONT -f -- "bin/tune_methods.py|bin/study.py" ;;
  status)
    pgrep -af -- "bin/tune_methods.py|bin/study.py" | cut -c1-160
    for log in "$ROOT"/runs/tune_*/process*.log "$ROOT"/runs/study_*/study*.log; do
      [ -f "$log" ] && echo "== $log" && grep -v "oneDNN\|^$\|warn" "$log" | tail -n 2 | cut -c1-160
    done
    echo "== finished trials per search (docs/tuning)"
    for search in "$ROOT"/docs/tuning/*/lpc*/*/search; do
      [ -d "$search" ] || continue
      done_=$(grep -l '"status": "COMPLETED"' "$search"/trial_*/trial.json 2>/dev/null | wc -l)
      name=${search#"$ROOT"/docs/tuning/}; echo "${name%/search}: $done_,"
    done | paste -sd' ' | fold -s -w 150 ;;
  *) echo "usage: $0 start|save|stop|pause|resume|status"; exit 1 ;;
esac
