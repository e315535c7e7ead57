#!/bin/sh
# `run` (the default) first brings the schema to head, then replaces this shell with the
# bot so that it receives SIGTERM itself. Every other command runs unchanged.
set -eu
if [ "$#" -eq 0 ]; then
    set -- run
fi
if [ "$1" = "run" ]; then
    backcoach db upgrade
fi
exec backcoach "$@"
