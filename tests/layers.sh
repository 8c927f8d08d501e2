#!/usr/bin/env bash
# tests/layers.sh [ROOT] — the library's layers call one way (DESIGN.md):
#
#   core < record < handshake < engine < ktls < drive < uring < api
#
# srtp/ (SRTP/SRTCP packet protection) sits beside record/: it includes only
# core/, and only api/ (the public NKTLS_srtp* calls) and handshake/ (the
# DTLS-SRTP keying) may include it.
#
# Prints TAP; one case per rule, failing with the offending lines:
#   1. no folder includes a header of a folder above it (uring/ also never
#      includes api/);
#   2. no public function (SSL_*, CERT_STORE_*, CA_MGMT_*, MOCANA_*, MERROR_*)
#      is called below api/ (uring/, which defines the public NKTLS_LOOP_*
#      calls, included);
#   3. no file outside record/ names the record header's size or reads its
#      fields, and no file outside handshake/ reads a handshake header;
#   4. no global getter of settings or limits below api/ (they reach a
#      connection through its cfg pointer).
set -u
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 1

LAYERS=(core record srtp handshake engine ktls drive uring api)
rank() {
    local i
    for i in "${!LAYERS[@]}"; do
        [ "${LAYERS[$i]}" = "$1" ] && { echo "$i"; return; }
    done
    echo -1
}

# code FILES...: "file:line:text" of each line with /* ... */ comments taken
# out (a comment may name anything).
code() {
    awk '{
        line = $0
        while (1) {
            if (incomment) {
                e = index(line, "*/")
                if (!e) { line = ""; break }
                line = substr(line, e + 2); incomment = 0
            }
            s = index(line, "/*")
            if (!s) break
            rest = substr(line, s + 2)
            e = index(rest, "*/")
            if (e) line = substr(line, 1, s - 1) " " substr(rest, e + 2)
            else { line = substr(line, 1, s - 1); incomment = 1 }
        }
        print FILENAME ":" FNR ":" line
    }' "$@" 2>/dev/null
}

n=0 failed=0
report() {   # report NAME OFFENDERS
    n=$((n + 1))
    if [ -z "$2" ]; then
        echo "ok $n - $1"
    else
        failed=$((failed + 1))
        echo "not ok $n - $1"
        printf '%s\n' "$2" | sed 's/^/# /'
    fi
}

echo "1..4"

# 1. includes
bad=""
for dir in "${LAYERS[@]}"; do
    r=$(rank "$dir")
    for f in "$dir"/*.[ch]; do
        [ -f "$f" ] || continue
        while IFS= read -r line; do
            inc=$(printf '%s' "$line" | sed -n 's/^#include "\([a-z_]*\)\/.*"/\1/p')
            [ -n "$inc" ] || continue
            ir=$(rank "$inc")
            [ "$ir" -ge 0 ] || continue
            if [ "$ir" -gt "$r" ] && ! [ "$dir" = uring ] || { [ "$dir" = uring ] && [ "$inc" = api ]; } \
               || { [ "$dir" = srtp ] && [ "$inc" != core ] && [ "$inc" != srtp ]; } \
               || { [ "$inc" = srtp ] && [ "$dir" != srtp ] && [ "$dir" != handshake ] && [ "$dir" != api ]; }; then
                bad+="$f: $line"$'\n'
            fi
        done < <(grep -h '^#include "' "$f")
    done
done
report "no folder includes a header of a folder above it" "${bad%$'\n'}"

# 2. public calls below api/
bad=$(code core/*.[ch] record/*.[ch] srtp/*.[ch] handshake/*.[ch] engine/*.[ch] ktls/*.[ch] drive/*.[ch] uring/*.[ch] \
      | grep -E ':.*\b(SSL|CERT_STORE|CA_MGMT|MOCANA|MERROR)_[A-Za-z_]+\(' | grep -vE ':NK_API ')
report "no public SSL_/CERT_STORE_/CA_MGMT_/MOCANA_ call below api/" "$bad"

# 3. record and handshake headers
bad=$(code core/*.[ch] srtp/*.[ch] handshake/*.[ch] engine/*.[ch] ktls/*.[ch] drive/*.[ch] uring/*.[ch] api/*.[ch] \
      | grep -E ':.*(NK_REC_HDR|nk_load16\([^)]*\+ *3\)|nk_load24\([^)]*\+ *1\))' \
      | grep -vE '^handshake/[^:]+:[0-9]+:.*nk_load24' )
report "record headers only in record/, handshake headers only in handshake/" "$bad"

# 4. global settings getters below api/
bad=$(code core/*.[ch] record/*.[ch] srtp/*.[ch] handshake/*.[ch] engine/*.[ch] ktls/*.[ch] drive/*.[ch] uring/*.[ch] \
      | grep -E ':.*\b(nk_settings|nk_limits|SSL_sslSettings)\(\)')
report "settings reach the engine through the connection, not a global getter" "$bad"

echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
