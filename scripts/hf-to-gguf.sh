#!/usr/bin/env bash
# Turn a downloaded fine-tuned checkpoint (a Together AI archive: Hugging Face config, tokenizer and
# safetensors weights, usually .tar.zst) into a GGUF file the labor-llm engine loads, with
# llama.cpp's own converter from vendor/llama.cpp. The alternative to `labor-llm model convert` (TypeScript, no
# Python), for what that refuses (other architectures, MoE); it needs torch and transformers. See docs/finetune.md.
#
#   scripts/hf-to-gguf.sh ARCHIVE|DIR OUT.gguf [--outtype f16|bf16|q8_0|f32|auto] [--python PY]
#                         [--base HF_BASE_DIR] [--extract-to DIR]
#   scripts/hf-to-gguf.sh ARCHIVE --extract-only DIR     unpack and report, convert nothing
#   scripts/hf-to-gguf.sh --check                        are the converter's Python packages here?
#
# A LoRA adapter archive (adapter_config.json) becomes a GGUF LoRA adapter with
# convert_lora_to_gguf.py, which needs the base model in Hugging Face form (--base).
# Exit codes: 0 done, 2 bad arguments or input, 3 missing Python packages, 4 converter failed.
set -euo pipefail

die() { local code=$1; shift; printf 'hf-to-gguf: %s\n' "$*" >&2; exit "$code"; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
llama_dir=${LLAMA_CPP_DIR:-"$here/../vendor/llama.cpp"}
if [ -d "$llama_dir" ]; then llama_dir=$(cd "$llama_dir" && pwd); fi
python=${PYTHON:-python3}
outtype=f16
base=""
extract_to=""
extract_only=""
check_only=0
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --outtype) outtype=${2:?--outtype needs a value}; shift 2 ;;
    --python) python=${2:?--python needs a value}; shift 2 ;;
    --base) base=${2:?--base needs a directory}; shift 2 ;;
    --extract-to) extract_to=${2:?--extract-to needs a directory}; shift 2 ;;
    --extract-only) extract_only=${2:?--extract-only needs a directory}; shift 2 ;;
    --check) check_only=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) die 2 "unknown option $1 (see --help)" ;;
    *) positional+=("$1"); shift ;;
  esac
done
case "$outtype" in f16|bf16|q8_0|f32|auto) ;; *) die 2 "--outtype must be f16, bf16, q8_0, f32 or auto, not $outtype" ;; esac

# The converter imports torch at the top and reads tokenizers through transformers (and
# sentencepiece for Llama-2-style vocabularies); gguf-py itself needs numpy, yaml and tqdm.
check_python() {
  command -v "$python" >/dev/null 2>&1 || die 3 "no Python interpreter '$python' (set --python or PYTHON)"
  local missing
  missing=$("$python" - <<'PY'
import importlib.util
need = ["torch", "numpy", "transformers", "sentencepiece", "yaml", "tqdm"]
print(" ".join(m for m in need if importlib.util.find_spec(m) is None))
PY
) || die 3 "could not run $python"
  if [ -n "$missing" ]; then
    die 3 "the llama.cpp converter needs Python packages that are missing here: $missing
  install them (network needed), e.g.:
    $python -m pip install -r $llama_dir/requirements/requirements-convert_hf_to_gguf.txt
  or convert on another machine and copy the .gguf back"
  fi
}

if [ "$check_only" = 1 ]; then
  check_python
  printf 'hf-to-gguf: %s has what convert_hf_to_gguf.py needs\n' "$python"
  exit 0
fi

[ "${#positional[@]}" -ge 1 ] || die 2 "name the checkpoint archive or directory (see --help)"
input=${positional[0]}
out=${positional[1]:-}
[ -e "$input" ] || die 2 "$input: no such file or directory"
[ -n "$extract_only" ] || [ -n "$out" ] || die 2 "name the output .gguf file (see --help)"

# Unpack by content, not by name: the SDKs name archives .tar.zst or .tar.gz from the
# Content-Type, and a checkpoint may also arrive as a plain tar or an already unpacked directory.
unpack() {
  local archive=$1 dest=$2 magic
  mkdir -p "$dest"
  magic=$(od -An -tx1 -N4 "$archive" | tr -d ' \n')
  case "$magic" in
    28b52ffd)
      command -v zstd >/dev/null 2>&1 || die 2 "$archive is zstd-compressed but the zstd tool is not installed"
      zstd -dc -q "$archive" | tar -xf - -C "$dest" ;;
    1f8b*) tar -xzf "$archive" -C "$dest" ;;
    *)
      if [ "$(od -An -c -j257 -N5 "$archive" | tr -d ' \n')" = "ustar" ]; then tar -xf "$archive" -C "$dest"
      else die 2 "$archive: not a zstd, gzip or tar archive (first bytes $magic)"; fi ;;
  esac
}

tmp=""
cleanup() { if [ -n "$tmp" ]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT
if [ -d "$input" ]; then
  root=$input
else
  if [ -n "$extract_only" ]; then root=$extract_only
  elif [ -n "$extract_to" ]; then root=$extract_to
  else tmp=$(mktemp -d "${TMPDIR:-/tmp}/hf-to-gguf.XXXXXX"); root=$tmp; fi
  unpack "$input" "$root"
fi

# The archive's layout is not documented: find the directory holding the config.
config=$(find "$root" -name config.json -not -path '*/.*' | head -n 1)
adapter=$(find "$root" -name adapter_config.json -not -path '*/.*' | head -n 1)
if [ -n "$config" ]; then
  model_dir=$(dirname "$config"); kind=model
elif [ -n "$adapter" ]; then
  model_dir=$(dirname "$adapter"); kind=adapter
else
  die 2 "$input: no config.json or adapter_config.json inside; is this a model checkpoint?"
fi
if [ "$kind" = model ] && [ -z "$(find "$model_dir" -maxdepth 1 \( -name '*.safetensors' -o -name 'pytorch_model*.bin' \) | head -n 1)" ]; then
  die 2 "$model_dir: config.json but no weights (*.safetensors or pytorch_model*.bin)"
fi

if [ -n "$extract_only" ]; then
  printf '%s\t%s\n' "$kind" "$model_dir"
  exit 0
fi

[ -f "$llama_dir/convert_hf_to_gguf.py" ] || die 2 "no llama.cpp converter at $llama_dir (set LLAMA_CPP_DIR; npm install fetches vendor/llama.cpp)"
check_python
[ "$kind" = model ] || [ -n "$base" ] || die 2 "$input is a LoRA adapter: give the base model's Hugging Face directory with --base (or download the merged checkpoint instead)"

# Write next to the target and rename when the converter succeeded: no half-written .gguf.
part="$out.part"
rm -f "$part"
if [ "$kind" = model ]; then
  "$python" "$llama_dir/convert_hf_to_gguf.py" "$model_dir" --outfile "$part" --outtype "$outtype" || { rm -f "$part"; die 4 "convert_hf_to_gguf.py failed (output above)"; }
else
  "$python" "$llama_dir/convert_lora_to_gguf.py" "$model_dir" --base "$base" --outfile "$part" --outtype "$outtype" || { rm -f "$part"; die 4 "convert_lora_to_gguf.py failed (output above)"; }
fi
mv -f "$part" "$out"
printf 'hf-to-gguf: wrote %s (%s); check it with: labor-llm model info %s\n' "$out" "$kind" "$out"
