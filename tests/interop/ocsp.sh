#!/usr/bin/env bash
# tests/interop/ocsp.sh — OCSP stapling (RFC 6066 §8, RFC 8446 §4.4.2.1)
# against the `openssl` command-line peers, TLS 1.3 and TLS 1.2. `openssl ocsp`
# makes the response: an index file naming the server's certificate good (or
# revoked), the test CA as the responder. nktls-server --ocsp staples it to
# `openssl s_client -status`, which must print "OCSP Response Status:
# successful" and "Cert Status: good"; without --ocsp s_client gets none.
# nktls-client --ocsp against `openssl s_server -status_file`: a good response
# is verified, a revoked one is refused (certificate_revoked), and
# --ocsp require refuses a server that staples nothing. Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_tool openssl
require_nktls
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi

# make_resp STATUS OUT: a DER OCSPResponse about server.pem from the CA, with
# STATUS V (good) or R (revoked) in the responder's index.
make_resp() {
    local status=$1 out=$2 serial subj exp rev=""
    serial=$(openssl x509 -in "$CERTS/server.pem" -noout -serial | cut -d= -f2)
    subj=$(openssl x509 -in "$CERTS/server.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
    exp=$(date -u -d '+2 days' +%y%m%d%H%M%SZ)
    [ "$status" = R ] && rev=$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)
    printf '%s\t%s\t%s\t%s\tunknown\t%s\n' "$status" "$exp" "$rev" "$serial" "$subj" >"$WORK/index-$status.txt"
    openssl ocsp -issuer "$CERTS/ca.pem" -cert "$CERTS/server.pem" -no_nonce \
        -reqout "$WORK/req-$status.der" >"$WORK/ocsp-$status.log" 2>&1 &&
    openssl ocsp -index "$WORK/index-$status.txt" -rsigner "$CERTS/ca.pem" -rkey "$CERTS/ca.key" \
        -CA "$CERTS/ca.pem" -reqin "$WORK/req-$status.der" -respout "$out" -ndays 1 \
        >>"$WORK/ocsp-$status.log" 2>&1
}

if ! make_resp V "$WORK/good.der" || ! make_resp R "$WORK/revoked.der"; then
    tap_fail "openssl ocsp made the responses" "openssl ocsp failed" "$WORK/ocsp-V.log" "$WORK/ocsp-R.log"
    tap_done
    exit 1
fi

S_CLIENT_VERIFY=(-CAfile "$CERTS/ca.pem" -verify_return_error -servername localhost)

# ===== nktls-server --ocsp <-> openssl s_client -status =====================

# srv_status VERSION STAPLED: s_client -status over VERSION (-tls1_3,
# -tls1_2); STAPLED 1: the response must come, good; 0: "no response sent".
srv_status() {
    local v=$1 stapled=$2 name=srv-ocsp$1-$2 err
    local args=(--cert "$CERTS/server.pem" --key "$CERTS/server.key")
    [ "$stapled" = 1 ] && args+=(--ocsp "$WORK/good.der")
    nk_server_ensure "ocsp-$stapled" "${args[@]}" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    err=$WORK/$name.err
    spawn_fed "$name" /dev/null /dev/null 0 openssl s_client -connect "127.0.0.1:$NK_PORT" "$v" -status "${S_CLIENT_VERIFY[@]}"
    finish "$SPAWN_PID"
    cat "$WORK/$name.out" >>"$err"
    [ "$RC" -eq 0 ] || { fail "s_client exited with status $RC" "$err" "$NK_LOG"; return 1; }
    grep -q "Protocol *: TLSv1.${v#-tls1_}" "$err" || { fail "not ${v#-}" "$err"; return 1; }
    if [ "$stapled" = 1 ]; then
        grep -q "OCSP Response Status: successful" "$err" || { fail "no successful OCSP response" "$err"; return 1; }
        grep -q "Cert Status: good" "$err" || { fail "the response does not say good" "$err"; return 1; }
    else
        grep -q "OCSP response: no response sent" "$err" || { fail "a response came unasked for" "$err"; return 1; }
    fi
}

section "nktls-server --ocsp, openssl s_client -status"
for v in -tls1_3 -tls1_2; do
    run_case "nktls-server staples to s_client $v" srv_status "$v" 1
    run_case "nktls-server without --ocsp, s_client $v: none" srv_status "$v" 0
done
nk_server_stop

# ===== nktls-client --ocsp <-> openssl s_server -status_file =================

# cli_status TLS RESP MODE WANT_RC WANT_LINE: nktls-client --tls TLS --ocsp
# MODE against s_server stapling RESP (empty: none); its exit status and the
# OCSP line it prints.
cli_status() {
    local tls=$1 resp=$2 mode=$3 want_rc=$4 want=$5 name=cli-ocsp-$1-${2##*/}-$3 extra=()
    [ -n "$resp" ] && extra=(-status_file "$resp")
    start_peer_server "$name-srv" /dev/null /dev/null 1 openssl s_server -accept "127.0.0.1:@PORT@" \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" -www "${extra[@]}" ||
        { fail "s_server did not start" "$WORK/$name-srv.err"; return 1; }
    local srv=$PEER_PID port=$PEER_PORT
    printf 'GET / HTTP/1.0\r\n\r\n' >"$WORK/$name.in"
    spawn_fed "$name" "$WORK/$name.in" /dev/null 1 "$NK_CLIENT" --connect "127.0.0.1:$port" \
        --servername localhost --ca "$CERTS/ca.pem" --tls "$tls" --ocsp "$mode" -v
    finish "$SPAWN_PID"
    stop_pid "$srv"
    [ "$RC" -eq "$want_rc" ] || { fail "nktls-client exited with $RC, want $want_rc" "$WORK/$name.err"; return 1; }
    grep -qx "protocol: TLSv$tls" "$WORK/$name.err" || [ "$want_rc" -ne 0 ] ||
        { fail "not TLS $tls" "$WORK/$name.err"; return 1; }
    grep -qx "nktls-client: OCSP status: $want" "$WORK/$name.err" ||
        { fail "no 'OCSP status: $want'" "$WORK/$name.err"; return 1; }
}

section "nktls-client --ocsp, openssl s_server -status_file"
for tls in 1.3 1.2; do
    run_case "nktls-client TLS $tls: good response verified" \
        cli_status "$tls" "$WORK/good.der" require 0 "good (stapled response verified)"
    run_case "nktls-client TLS $tls: revoked refused" \
        cli_status "$tls" "$WORK/revoked.der" request 1 "revoked (stapled response)"
    run_case "nktls-client TLS $tls: none stapled, requested: goes on" \
        cli_status "$tls" "" request 0 "none stapled"
    run_case "nktls-client TLS $tls: none stapled, required: refused" \
        cli_status "$tls" "" require 1 "no acceptable response stapled"
done

tap_done
