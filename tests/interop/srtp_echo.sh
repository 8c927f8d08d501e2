#!/usr/bin/env bash
# tests/interop/srtp_echo.sh — examples/nktls-srtp-echo, both roles over the
# loopback: a DTLS-SRTP handshake on one UDP socket per side, then RTP
# packets SRTP-protected both ways on the same sockets, with a DTLS
# application-data message between them and the client's close_notify after
# them (RFC 7983 demultiplexing on the first byte). Per profile
# (SRTP_AES128_CM_SHA1_80, SRTP_AEAD_AES_128_GCM): the profile both sides
# agree on, every packet echoed intact (the client compares each echo with
# what it sent), the server's count of packets equal to the client's, the
# DTLS message delivered to the server, and both exit 0. With openssl
# installed, openssl s_server / s_client -dtls1_2 -use_srtp as the DTLS peer
# for the handshake: the same profile, the exported keying material
# (EXTRACTOR-dtls_srtp) the same bytes both sides, and (s_client) its line
# handed to our DTLS side and its close_notify ending our server. Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

NK_ECHO=$NKTLS_BUILD/examples/nktls-srtp-echo
if [ ! -x "$NK_ECHO" ]; then
    tap_fail "nktls-srtp-echo built" "missing $NK_ECHO"
    tap_done
    exit 1
fi
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi

# echo_case PROFILE HEXID COUNT SIZE
echo_case() {
    local profile=$1 id=$2 count=$3 size=$4 name=echo-$1-$3 port spid rc
    port=$(pick_port)
    timeout "$T_TIMEOUT" "$NK_ECHO" --listen "127.0.0.1:$port" --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --srtp "$profile" >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "the server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    timeout "$T_TIMEOUT" "$NK_ECHO" --connect "127.0.0.1:$port" --ca "$CERTS/ca.pem" --servername localhost \
        --srtp "$profile" --count "$count" --size "$size" >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    rc=$?
    finish_within "$spid" 3 || { fail "the server did not end at the client's close_notify" "$WORK/$name.srv.out" "$WORK/$name.srv.err"; return 1; }
    [ "$rc" -eq 0 ] || { fail "the client exited $rc" "$WORK/$name.cli.out" "$WORK/$name.cli.err"; return 1; }
    grep -qx "SRTP profile: $id" "$WORK/$name.cli.out" || { fail "the client agreed no $profile" "$WORK/$name.cli.out"; return 1; }
    grep -qx "SRTP profile: $id" "$WORK/$name.srv.out" || { fail "the server agreed no $profile" "$WORK/$name.srv.out"; return 1; }
    grep -qx "sent $count RTP packets, $count echoed intact, 0 wrong" "$WORK/$name.cli.out" \
        || { fail "not every packet came back intact" "$WORK/$name.cli.out" "$WORK/$name.cli.err"; return 1; }
    grep -qx "echoed $count RTP packets" "$WORK/$name.srv.out" || { fail "the server's count differs" "$WORK/$name.srv.out" "$WORK/$name.srv.err"; return 1; }
    if [ "$count" -gt 0 ]; then
        grep -qx "DTLS message: a DTLS message between RTP packets" "$WORK/$name.srv.out" \
            || { fail "the DTLS message between the RTP packets was lost" "$WORK/$name.srv.out"; return 1; }
    fi
    [ ! -s "$WORK/$name.srv.err" ] || { fail "the server complained" "$WORK/$name.srv.err"; return 1; }
    return 0
}

section "nktls-srtp-echo --listen <-> nktls-srtp-echo --connect"
run_case "SRTP_AES128_CM_SHA1_80: 200 packets of 172 bytes" echo_case SRTP_AES128_CM_SHA1_80 0x0001 200 172
run_case "SRTP_AEAD_AES_128_GCM: 200 packets of 172 bytes" echo_case SRTP_AEAD_AES_128_GCM 0x0007 200 172
run_case "SRTP_AES128_CM_SHA1_80: 20 packets of 1200 bytes" echo_case SRTP_AES128_CM_SHA1_80 0x0001 20 1200
run_case "SRTP_AEAD_AES_128_GCM: header-only packets" echo_case SRTP_AEAD_AES_128_GCM 0x0007 50 12

hex_of() {
    sed -n "s/^ *$2 *\([0-9A-Fa-f]*\).*/\1/p" "$1" | head -n 1 | tr 'a-f' 'A-F'
}

LABEL=EXTRACTOR-dtls_srtp

# ossl_server_case PROFILE HEXID LEN: openssl s_server, nktls-srtp-echo --connect --count 0.
ossl_server_case() {
    local profile=$1 id=$2 len=$3 name=ossl-srv-$1 port spid rc ours theirs
    port=$(pick_port)
    (sleep $((T_TIMEOUT - 2)) | timeout "$T_TIMEOUT" openssl s_server -dtls1_2 -accept "127.0.0.1:$port" \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" -use_srtp "$profile" -keymatexport "$LABEL" \
        -keymatexportlen "$len" -naccept 1 >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err") &
    spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "s_server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    timeout "$T_TIMEOUT" "$NK_ECHO" --connect "127.0.0.1:$port" --ca "$CERTS/ca.pem" --srtp "$profile" --count 0 \
        --keymatexport "$LABEL" --keymatexportlen "$len" >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    rc=$?
    stop_pid "$spid"
    [ "$rc" -eq 0 ] || { fail "nktls-srtp-echo exited $rc" "$WORK/$name.cli.out" "$WORK/$name.cli.err"; return 1; }
    grep -qx "SRTP profile: $id" "$WORK/$name.cli.out" || { fail "nktls-srtp-echo agreed no $profile" "$WORK/$name.cli.out"; return 1; }
    grep -q "SRTP Extension negotiated, profile=$profile" "$WORK/$name.srv.out" || { fail "s_server agreed no $profile" "$WORK/$name.srv.out"; return 1; }
    ours=$(hex_of "$WORK/$name.cli.err" "Keying material:")
    theirs=$(hex_of "$WORK/$name.srv.out" "Keying material:")
    [ ${#ours} -eq $((2 * len)) ] || { fail "no $len-byte keying material printed" "$WORK/$name.cli.err"; return 1; }
    [ "$ours" = "$theirs" ] || { fail "keying material differs: ours $ours, s_server's $theirs" "$WORK/$name.srv.out" "$WORK/$name.cli.err"; return 1; }
    return 0
}

# ossl_client_case PROFILE HEXID LEN: nktls-srtp-echo --listen, openssl s_client.
ossl_client_case() {
    local profile=$1 id=$2 len=$3 name=ossl-cli-$1 port spid ours theirs line
    port=$(pick_port)
    line="a line from s_client $RANDOM"
    timeout "$T_TIMEOUT" "$NK_ECHO" --listen "127.0.0.1:$port" --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --srtp "$profile" --keymatexport "$LABEL" --keymatexportlen "$len" >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "the server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "$line"; sleep 1; } | timeout "$T_TIMEOUT" openssl s_client -dtls1_2 -connect "127.0.0.1:$port" \
        -CAfile "$CERTS/ca.pem" -use_srtp "$profile" -keymatexport "$LABEL" -keymatexportlen "$len" \
        >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    finish_within "$spid" 3 || { fail "our server did not end at s_client's close_notify" "$WORK/$name.srv.out" "$WORK/$name.srv.err"; return 1; }
    grep -qx "SRTP profile: $id" "$WORK/$name.srv.out" || { fail "our server agreed no $profile" "$WORK/$name.srv.out"; return 1; }
    grep -qx "DTLS message: $line" "$WORK/$name.srv.out" || { fail "s_client's line did not reach our DTLS side" "$WORK/$name.srv.out"; return 1; }
    grep -qx "echoed 0 RTP packets" "$WORK/$name.srv.out" || { fail "our server did not finish cleanly" "$WORK/$name.srv.out"; return 1; }
    ours=$(hex_of "$WORK/$name.srv.err" "Keying material:")
    theirs=$(hex_of "$WORK/$name.cli.out" "Keying material:")
    [ ${#ours} -eq $((2 * len)) ] || { fail "no $len-byte keying material printed" "$WORK/$name.srv.err"; return 1; }
    [ "$ours" = "$theirs" ] || { fail "keying material differs: ours $ours, s_client's $theirs" "$WORK/$name.cli.out" "$WORK/$name.srv.err"; return 1; }
    return 0
}

section "openssl -dtls1_2 -use_srtp as the DTLS peer"
if command -v openssl >/dev/null 2>&1; then
    run_case "s_server SRTP_AEAD_AES_128_GCM: keying material equal" ossl_server_case SRTP_AEAD_AES_128_GCM 0x0007 56
    run_case "s_client SRTP_AES128_CM_SHA1_80: keying material equal, line and close_notify through the demultiplexer" \
        ossl_client_case SRTP_AES128_CM_SHA1_80 0x0001 60
else
    tap_skip "openssl as the DTLS peer" "openssl is not installed"
fi
tap_done
