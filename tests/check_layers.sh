#!/usr/bin/env bash
# The dependency direction of docs/architecture.md, checked two ways:
# 1. includes: run-time folders (core, models, pipelines, plugin) include
#    nothing from offline folders (datasets, training, tools), and each layer
#    only includes layers below it;
# 2. link: the built plugin holds no symbol of offline code, while the
#    `fiancee` tool (which links it) does, so the symbol patterns are live.
# Usage: check_layers.sh SOURCE_ROOT PLUGIN_SO FIANCEE_EXE
set -euo pipefail
root=$1 plugin=$2 tool=$3
fail=0

# layer -> folders it must not include from
declare -A forbidden=(
  [core]="models pipelines plugin datasets training tools"
  [models]="pipelines plugin datasets training tools"
  [pipelines]="plugin datasets training tools"
  [plugin]="datasets training tools"
  [datasets]="plugin training tools"
  [training]="plugin tools"
)
for layer in "${!forbidden[@]}"; do
  for bad in ${forbidden[$layer]}; do
    if hits=$(grep -rn --include='*.h' --include='*.cc' "#include \"$bad/" "$root/$layer"); then
      echo "FAIL: $layer/ includes $bad/ (against the layer order):"
      echo "$hits"
      fail=1
    fi
  done
done

# Offline code's symbols: procedural heads and scenes, face videos, Cityscapes, training.
offline='headgen::|ProceduralHeads|StreetScenes|CityscapesFolder|VideoFaces|fiancee::training::|fiancee::losses::|train_loop|TrainLoop'
count() { nm -C "$1" 2>/dev/null | grep -cE "$offline" || true; }
in_plugin=$(count "$plugin")
in_tool=$(count "$tool")
echo "offline symbols: plugin $in_plugin, fiancee tool $in_tool"
if [ "$in_tool" -eq 0 ]; then
  echo "FAIL: no offline symbol found in the fiancee tool either: the pattern or nm is broken"
  fail=1
fi
if [ "$in_plugin" -ne 0 ]; then
  echo "FAIL: the plugin links offline code:"
  nm -C "$plugin" | grep -E "$offline" | head -20
  fail=1
fi
# Positive control: the plugin does hold the engine.
if [ "$(nm -C "$plugin" | grep -c 'fiancee::Engine::run')" -eq 0 ]; then
  echo "FAIL: fiancee::Engine::run not found in the plugin: nm sees no symbols"
  fail=1
fi
[ $fail -eq 0 ] && echo "layers: OK"
exit $fail
