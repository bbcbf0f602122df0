#!/bin/sh
# Starts the Deno kernel on the pinned Deno 2.8.1, not on whichever deno is on PATH: with 2.9.x,
# outputs can land under the wrong cell. The deno on PATH is used when it is 2.8.1 (the headless
# runner and the tests put theirs first); otherwise npm fetches 2.8.1 once, as the README's
# `npx --yes deno@2.8.1` commands do, and its binary runs the kernel itself (exec: the kernel keeps
# this process, so Jupyter's interrupts reach it). Without npx, the deno on PATH runs, and the
# notebook's setup cell says that it is not the pinned one.
PINNED=2.8.1
case "$(deno --version 2>/dev/null | head -n 1)" in
"deno $PINNED "*) exec deno jupyter --kernel --conn "$1" ;;
esac
if command -v npx >/dev/null 2>&1; then
  pinned="$(npx --yes "deno@$PINNED" eval 'console.log(Deno.execPath())' 2>/dev/null)"
  if [ -x "$pinned" ]; then exec "$pinned" jupyter --kernel --conn "$1"; fi
fi
exec deno jupyter --kernel --conn "$1"
