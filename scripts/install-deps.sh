#!/bin/sh
# Installs the system libraries tokc builds against (ICU, PCRE2, zlib), only if their headers are missing.
# Debian/Ubuntu; run as root (or with sudo). Prints nothing when everything is already there.
set -e
if [ -f /usr/include/unicode/unorm2.h ] && [ -f /usr/include/pcre2.h ] && [ -f /usr/include/zlib.h ]; then
    exit 0
fi
echo "tokc: installing libicu-dev libpcre2-dev zlib1g-dev" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libicu-dev libpcre2-dev zlib1g-dev >/dev/null
