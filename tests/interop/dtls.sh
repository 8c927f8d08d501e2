#!/usr/bin/env bash
# tests/interop/dtls.sh — DTLS 1.2 and DTLS-SRTP (RFC 6347, RFC 5764) against
# the `openssl` command-line peers: `openssl s_server -dtls1_2 -use_srtp ...
# -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen 60` against
# nktls-client --dtls, and `openssl s_client -dtls1_2 ...` against
# nktls-server --dtls, per ECDHE AEAD suite and per SRTP profile: the
# handshake completes (with the cookie exchange), both sides name the same
# SRTP profile, the keying material each prints is the same bytes, and a
# line of data crosses (the server echoes it back). With gnutls-cli
# installed: gnutls-cli --udp against nktls-server --dtls, the exported
# keying material compared too, and gnutls-serv --udp --echo against
# nktls-client --dtls. nktls-server --dtls runs on the event loop: two
# s_client at once on io_uring and on epoll, each echoed. Both ways with a
# 400-byte MTU: each side's Certificate crosses in fragments and is
# reassembled. Session resumption (RFC 5077 tickets and session ids), ALPN,
# client certificates and pre-shared key suites (plain and ECDHE) both ways
# with openssl; nktls-client --dtls at the end of stdin; nktls-load --dtls
# (the event loop's DTLS client) making handshakes against s_server and
# nktls-server. Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_tool openssl
require_nktls
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi

LABEL=EXTRACTOR-dtls_srtp
# Extra arguments for our program and for the openssl one (the small-MTU cases).
NK_EXTRA=() OSSL_EXTRA=()

# hex_of FILE PREFIX: the hex after PREFIX on its first line (upper case).
hex_of() {
    sed -n "s/^ *$2 *\([0-9A-Fa-f]*\).*/\1/p" "$1" | head -n 1 | tr 'a-f' 'A-F'
}

cert_of() {
    case $1 in
    *-RSA-*) echo server-rsa ;;
    *) echo server ;;
    esac
}

# s_server_case SUITE PROFILE: openssl s_server, nktls-client.
s_server_case() {
    local suite=$1 profile=$2 name=ossl-srv-$1-$2 cert port ours theirs line
    cert=$(cert_of "$suite")
    port=$(pick_port)
    line="dtls line from nktls-client $RANDOM"
    (sleep $((T_TIMEOUT - 2)) | timeout "$T_TIMEOUT" openssl s_server -dtls1_2 -accept "127.0.0.1:$port" \
        -cert "$CERTS/$cert.pem" -key "$CERTS/$cert.key" -cipher "$suite" -use_srtp "$profile" \
        -keymatexport "$LABEL" -keymatexportlen 60 -naccept 1 "${OSSL_EXTRA[@]}" \
        >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err") &
    local spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "s_server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "$line"; sleep 2; } | timeout 4 "$NK_CLIENT" --dtls --connect "127.0.0.1:$port" --ca "$CERTS/ca.pem" \
        --servername localhost --ciphers "$(nk_suite_name "$suite")" --srtp "$profile" \
        --keymatexport "$LABEL" --keymatexportlen 60 -v "${NK_EXTRA[@]}" >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    stop_pid "$spid"
    ours=$(hex_of "$WORK/$name.cli.err" "Keying material:")
    theirs=$(hex_of "$WORK/$name.srv.out" "Keying material:")
    [ ${#ours} -eq 120 ] || { fail "nktls-client printed no 60-byte keying material" "$WORK/$name.cli.err"; return 1; }
    [ "$ours" = "$theirs" ] || { fail "keying material differs: ours $ours, s_server's $theirs" "$WORK/$name.srv.out" "$WORK/$name.cli.err"; return 1; }
    grep -q "^SRTP profile: $profile\$" "$WORK/$name.cli.err" || { fail "nktls-client agreed no $profile" "$WORK/$name.cli.err"; return 1; }
    grep -qx "protocol: DTLSv1.2" "$WORK/$name.cli.err" || { fail "nktls-client -v: no 'protocol: DTLSv1.2'" "$WORK/$name.cli.err"; return 1; }
    grep -q "SRTP Extension negotiated, profile=$profile" "$WORK/$name.srv.out" || { fail "s_server agreed no $profile" "$WORK/$name.srv.out"; return 1; }
    # The SRTP callback's material is the same exporter's output at the
    # profile's length (2 x (key + salt)): the PRF's stream, so one is a
    # prefix of the other.
    local srtp n
    srtp=$(hex_of "$WORK/$name.cli.err" "SRTP keying material:")
    n=$(( ${#srtp} < ${#ours} ? ${#srtp} : ${#ours} ))
    [ "$n" -ge 56 ] && [ "${srtp:0:n}" = "${ours:0:n}" ] || { fail "the SRTP callback's material is not the exporter's" "$WORK/$name.cli.err"; return 1; }
    grep -qF "$line" "$WORK/$name.srv.out" || { fail "s_server did not receive the line" "$WORK/$name.srv.out"; return 1; }
    return 0
}

# s_client_case SUITE PROFILE: nktls-server, openssl s_client.
s_client_case() {
    local suite=$1 profile=$2 name=ossl-cli-$1-$2 cert port ours theirs line
    cert=$(cert_of "$suite")
    port=$(pick_port)
    line="dtls line from s_client $RANDOM"
    timeout "$T_TIMEOUT" "$NK_SERVER" --dtls --listen "127.0.0.1:$port" --cert "$CERTS/$cert.pem" \
        --key "$CERTS/$cert.key" --count 1 --ciphers "$(nk_suite_name "$suite")" --srtp "$profile" \
        --keymatexport "$LABEL" --keymatexportlen 60 "${NK_EXTRA[@]}" >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    local spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "nktls-server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "$line"; sleep 2; } | timeout 4 openssl s_client "${OSSL_EXTRA[@]}" -dtls1_2 -connect "127.0.0.1:$port" \
        -CAfile "$CERTS/ca.pem" -verify_return_error -servername localhost -cipher "$suite" \
        -use_srtp "$profile" -keymatexport "$LABEL" -keymatexportlen 60 \
        >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    finish_within "$spid" 3
    ours=$(hex_of "$WORK/$name.srv.err" "Keying material:")
    theirs=$(hex_of "$WORK/$name.cli.out" "Keying material:")
    [ ${#ours} -eq 120 ] || { fail "nktls-server printed no 60-byte keying material" "$WORK/$name.srv.err"; return 1; }
    [ "$ours" = "$theirs" ] || { fail "keying material differs: ours $ours, s_client's $theirs" "$WORK/$name.cli.out" "$WORK/$name.srv.err"; return 1; }
    grep -q "^SRTP profile: $profile\$" "$WORK/$name.srv.err" || { fail "nktls-server agreed no $profile" "$WORK/$name.srv.err"; return 1; }
    grep -q "SRTP Extension negotiated, profile=$profile" "$WORK/$name.cli.out" || { fail "s_client agreed no $profile" "$WORK/$name.cli.out"; return 1; }
    grep -q "Verify return code: 0 (ok)" "$WORK/$name.cli.out" || { fail "s_client did not verify our certificate" "$WORK/$name.cli.out"; return 1; }
    # The echo: the line came back to s_client.
    grep -qF "$line" "$WORK/$name.cli.out" || { fail "the line was not echoed back" "$WORK/$name.cli.out" "$WORK/$name.srv.err"; return 1; }
    return 0
}

# nk_suite_name OPENSSL_NAME: the suite's number, as nktls --ciphers takes it.
nk_suite_name() {
    case $1 in
    ECDHE-ECDSA-AES128-GCM-SHA256) echo 0xc02b ;;
    ECDHE-ECDSA-AES256-GCM-SHA384) echo 0xc02c ;;
    ECDHE-ECDSA-CHACHA20-POLY1305) echo 0xcca9 ;;
    ECDHE-RSA-AES128-GCM-SHA256) echo 0xc02f ;;
    ECDHE-RSA-CHACHA20-POLY1305) echo 0xcca8 ;;
    ECDHE-ECDSA-AES128-CCM) echo 0xc0ac ;;
    PSK-AES128-GCM-SHA256) echo 0x00a8 ;;
    ECDHE-PSK-CHACHA20-POLY1305) echo 0xccac ;;
    esac
}

SUITES_DTLS=(ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305
             ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-CHACHA20-POLY1305 ECDHE-ECDSA-AES128-CCM)
PROFILES=(SRTP_AES128_CM_SHA1_80 SRTP_AES128_CM_SHA1_32 SRTP_AEAD_AES_128_GCM SRTP_AEAD_AES_256_GCM)

section "openssl s_server -dtls1_2 <-> nktls-client --dtls"
for s in "${SUITES_DTLS[@]}"; do
    run_case "s_server $s SRTP_AES128_CM_SHA1_80" s_server_case "$s" SRTP_AES128_CM_SHA1_80
done
for p in "${PROFILES[@]:1}"; do
    run_case "s_server ECDHE-ECDSA-AES128-GCM-SHA256 $p" s_server_case ECDHE-ECDSA-AES128-GCM-SHA256 "$p"
done

section "nktls-server --dtls <-> openssl s_client -dtls1_2"
for s in "${SUITES_DTLS[@]}"; do
    run_case "s_client $s SRTP_AES128_CM_SHA1_80" s_client_case "$s" SRTP_AES128_CM_SHA1_80
done
for p in "${PROFILES[@]:1}"; do
    run_case "s_client ECDHE-ECDSA-AES128-GCM-SHA256 $p" s_client_case ECDHE-ECDSA-AES128-GCM-SHA256 "$p"
done

# concurrent_case IO: nktls-server --dtls --io IO (the event loop) with two
# openssl s_client -dtls1_2 at once, each echoed its own line, each with the
# keying material the server printed for it; the server ends after both
# (--count 2).
concurrent_case() {
    local io=$1 name=ossl-two-$1 port line i ours
    port=$(pick_port)
    timeout "$T_TIMEOUT" "$NK_SERVER" --dtls --io "$io" --listen "127.0.0.1:$port" --cert "$CERTS/server.pem" \
        --key "$CERTS/server.key" --count 2 --keymatexport "$LABEL" --keymatexportlen 60 \
        >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    local spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "nktls-server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    local cpids=()
    for i in 1 2; do
        line="dtls line $i from s_client $RANDOM"
        echo "$line" >"$WORK/$name.line$i"
        # Both handshakes run while both clients wait: neither ends before 3 s.
        ({ echo "$line"; sleep 3; } | timeout 6 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" \
            -CAfile "$CERTS/ca.pem" -verify_return_error -servername localhost \
            -keymatexport "$LABEL" -keymatexportlen 60 \
            >"$WORK/$name.cli$i.out" 2>"$WORK/$name.cli$i.err") &
        cpids+=($!)
    done
    wait "${cpids[@]}"
    finish_within "$spid" 3
    local want=epoll
    [ "$io" = epoll ] || want='\(io_uring\|epoll\)'   # io_uring where it can run
    grep -q "^io: $want" "$WORK/$name.srv.out" || { fail "nktls-server did not run --io $io" "$WORK/$name.srv.out"; return 1; }
    for i in 1 2; do
        grep -qF "$(cat "$WORK/$name.line$i")" "$WORK/$name.cli$i.out" || { fail "client $i: its line was not echoed back" "$WORK/$name.cli$i.out" "$WORK/$name.srv.err"; return 1; }
        ours=$(hex_of "$WORK/$name.cli$i.out" "Keying material:")
        [ ${#ours} -eq 120 ] && grep -q "Keying material: $ours" "$WORK/$name.srv.err" || { fail "client $i: the server printed no matching keying material" "$WORK/$name.cli$i.out" "$WORK/$name.srv.err"; return 1; }
    done
    [ "$(grep -c "^Keying material:" "$WORK/$name.srv.err")" -eq 2 ] || { fail "the server did not complete two handshakes" "$WORK/$name.srv.err"; return 1; }
    return 0
}

section "nktls-server --dtls (the event loop) <-> two openssl s_client -dtls1_2 at once"
run_case "two s_client at once, --io uring" concurrent_case uring
run_case "two s_client at once, --io epoll" concurrent_case epoll

# gnutls_cli_case PROFILE(gnutls spelling) PROFILE(ours): nktls-server, gnutls-cli --udp.
gnutls_cli_case() {
    local gprofile=$1 profile=$2 name=gnutls-cli-$2 port ours theirs line
    port=$(pick_port)
    line="dtls line from gnutls-cli $RANDOM"
    timeout "$T_TIMEOUT" "$NK_SERVER" --dtls --listen "127.0.0.1:$port" --cert "$CERTS/server.pem" \
        --key "$CERTS/server.key" --count 1 --srtp "$profile" --keymatexport "$LABEL" --keymatexportlen 60 \
        >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    local spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "nktls-server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "$line"; sleep 2; } | timeout 4 gnutls-cli --udp -p "$port" --x509cafile "$CERTS/ca.pem" \
        --srtp-profiles="$gprofile" --keymatexport="$LABEL" --keymatexportsize=60 localhost \
        >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    finish_within "$spid" 3
    ours=$(hex_of "$WORK/$name.srv.err" "Keying material:")
    theirs=$(hex_of "$WORK/$name.cli.out" "- Key material:")
    [ ${#ours} -eq 120 ] || { fail "nktls-server printed no 60-byte keying material" "$WORK/$name.srv.err"; return 1; }
    [ "$ours" = "$theirs" ] || { fail "keying material differs: ours $ours, gnutls-cli's $theirs" "$WORK/$name.cli.out" "$WORK/$name.srv.err"; return 1; }
    grep -q "^SRTP profile: $profile\$" "$WORK/$name.srv.err" || { fail "nktls-server agreed no $profile" "$WORK/$name.srv.err"; return 1; }
    grep -q "SRTP profile: $gprofile" "$WORK/$name.cli.out" || { fail "gnutls-cli agreed no $gprofile" "$WORK/$name.cli.out"; return 1; }
    grep -qF "$line" "$WORK/$name.cli.out" || { fail "the line was not echoed back" "$WORK/$name.cli.out" "$WORK/$name.srv.err"; return 1; }
    return 0
}

# gnutls_resume_case: gnutls-cli --udp --resume connects twice, the second
# time from a new port offering the first session; the event-loop server
# serves both and the second resumes (gnutls-cli says so, and nktls-server
# -v prints the same session id for both).
gnutls_resume_case() {
    local name=gnutls-cli-resume port spid
    port=$(pick_port)
    timeout "$T_TIMEOUT" "$NK_SERVER" --dtls --listen "127.0.0.1:$port" --cert "$CERTS/server.pem" \
        --key "$CERTS/server.key" --count 2 -v >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "nktls-server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "resume line"; sleep 2; } | timeout 6 gnutls-cli --udp --resume -p "$port" --x509cafile "$CERTS/ca.pem" \
        localhost >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    finish_within "$spid" 3
    grep -q "^\*\*\* This is a resumed session" "$WORK/$name.cli.out" || { fail "gnutls-cli did not resume" "$WORK/$name.cli.out" "$WORK/$name.srv.err"; return 1; }
    return 0
}

section "small datagrams: handshake messages in fragments both ways (RSA chain, 400-byte MTU)"
NK_EXTRA=(--pmtu 400) OSSL_EXTRA=(-mtu 400)
run_case "s_server -mtu 400, nktls-client --pmtu 400" s_server_case ECDHE-RSA-AES128-GCM-SHA256 SRTP_AES128_CM_SHA1_80
run_case "s_client -mtu 400, nktls-server --pmtu 400" s_client_case ECDHE-RSA-AES128-GCM-SHA256 SRTP_AES128_CM_SHA1_80
NK_EXTRA=() OSSL_EXTRA=()

# gnutls_serv_case: gnutls-serv --udp --echo, nktls-client (gnutls-serv prints
# no keying material: the profile and the echoed line are checked).
gnutls_serv_case() {
    local name=gnutls-serv port line
    port=$(pick_port)
    line="dtls line to gnutls-serv $RANDOM"
    timeout "$T_TIMEOUT" gnutls-serv --udp --echo -p "$port" --x509certfile "$CERTS/server.pem" \
        --x509keyfile "$CERTS/server.key" --srtp-profiles=SRTP_AES128_CM_HMAC_SHA1_80 \
        >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    local spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "gnutls-serv did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "$line"; sleep 1; } | timeout 4 "$NK_CLIENT" --dtls --connect "127.0.0.1:$port" --ca "$CERTS/ca.pem" \
        --servername localhost --srtp SRTP_AES128_CM_SHA1_80 --keymatexport "$LABEL" --keymatexportlen 60 --echo -v \
        >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    local rc=$?
    stop_pid "$spid"
    [ $rc -eq 0 ] || { fail "nktls-client exited with $rc" "$WORK/$name.cli.err" "$WORK/$name.srv.err"; return 1; }
    grep -qx "protocol: DTLSv1.2" "$WORK/$name.cli.err" || { fail "nktls-client -v: no 'protocol: DTLSv1.2'" "$WORK/$name.cli.err"; return 1; }
    grep -q "^SRTP profile: SRTP_AES128_CM_SHA1_80\$" "$WORK/$name.cli.err" || { fail "nktls-client agreed no SRTP profile" "$WORK/$name.cli.err"; return 1; }
    grep -qF "$line" "$WORK/$name.cli.out" || { fail "the line was not echoed back" "$WORK/$name.cli.out"; return 1; }
    return 0
}

# eof_case: nktls-client --dtls at the end of stdin sends close_notify and
# exits 0 by itself (no --echo, nothing killed by timeout); nktls-server
# --dtls --count 1 gets the close_notify and ends its only turn at once
# (without it, it would wait out its 30 s idle limit).
eof_case() {
    local name=eof port line rc
    port=$(pick_port)
    line="dtls line before EOF $RANDOM"
    timeout "$T_TIMEOUT" "$NK_SERVER" --dtls --listen "127.0.0.1:$port" --cert "$CERTS/server.pem" \
        --key "$CERTS/server.key" --count 1 >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    local spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "nktls-server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    echo "$line" | timeout 8 "$NK_CLIENT" --dtls --connect "127.0.0.1:$port" --ca "$CERTS/ca.pem" \
        --servername localhost >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    rc=$?
    [ $rc -eq 0 ] || { stop_pid "$spid"; fail "nktls-client exited with $rc at the end of stdin (124: it did not exit)" "$WORK/$name.cli.err"; return 1; }
    finish_within "$spid" 5
    [ "$RC" -eq 0 ] || { fail "nktls-server did not end its turn on the close_notify (exit $RC)" "$WORK/$name.srv.err"; return 1; }
    return 0
}

section "nktls-client --dtls at the end of stdin"
run_case "close_notify and exit 0 at EOF; nktls-server ends the turn" eof_case

# s_client_resume_case ticket|id: nktls-server --dtls (two clients), openssl
# s_client -dtls1_2 twice: -sess_out, then -sess_in; the second handshake is
# the abbreviated one ("Reused," and the first one's session id), by RFC 5077
# ticket, or with tickets off both sides by session id (RFC 5246 §7.3).
s_client_resume_case() {
    local mode=$1 name=ossl-cli-resume-$1 port spid
    local srv_extra=() cli_extra=()
    [ "$mode" = id ] && srv_extra=(--tickets 0) cli_extra=(-no_ticket)
    port=$(pick_port)
    timeout "$T_TIMEOUT" "$NK_SERVER" --dtls --listen "127.0.0.1:$port" --cert "$CERTS/server.pem" \
        --key "$CERTS/server.key" --count 2 "${srv_extra[@]}" >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "nktls-server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    local i
    for i in 1 2; do
        local sess=(-sess_out "$WORK/$name.sess")
        [ $i -eq 2 ] && sess=(-sess_in "$WORK/$name.sess")
        { echo "line $i"; sleep 1; } | timeout 4 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" \
            -CAfile "$CERTS/ca.pem" -verify_return_error -servername localhost "${cli_extra[@]}" "${sess[@]}" \
            >"$WORK/$name.cli$i.out" 2>"$WORK/$name.cli$i.err"
    done
    finish_within "$spid" 3
    grep -q "^New," "$WORK/$name.cli1.out" || { fail "the first s_client handshake was not a full one" "$WORK/$name.cli1.out"; return 1; }
    grep -q "^Reused," "$WORK/$name.cli2.out" || { fail "s_client -sess_in did not resume" "$WORK/$name.cli2.out" "$WORK/$name.srv.err"; return 1; }
    local id1 id2
    id1=$(sed -n 's/^ *Session-ID: *//p' "$WORK/$name.cli1.out")
    id2=$(sed -n 's/^ *Session-ID: *//p' "$WORK/$name.cli2.out")
    if [ "$mode" = id ]; then
        [ ${#id1} -eq 64 ] && [ "$id1" = "$id2" ] || { fail "session ids: first '$id1', resumed '$id2'" "$WORK/$name.cli2.out"; return 1; }
        grep -q "TLS session ticket:" "$WORK/$name.cli1.out" && { fail "a ticket came though both sides turned them off" "$WORK/$name.cli1.out"; return 1; }
    fi
    return 0
}

# s_server_resume_case ticket|id: openssl s_server -dtls1_2 (two clients),
# nktls-client --dtls --reconnect: the first connection's session
# (SSL_getClientSessionInfo) offered to the second, which resumes.
s_server_resume_case() {
    local mode=$1 name=ossl-srv-resume-$1 port spid extra=()
    [ "$mode" = id ] && extra=(-no_ticket)
    port=$(pick_port)
    (sleep $((T_TIMEOUT - 2)) | timeout "$T_TIMEOUT" openssl s_server -dtls1_2 -accept "127.0.0.1:$port" \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" -naccept 2 "${extra[@]}" \
        >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err") &
    spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "s_server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "resumed line"; sleep 1; } | timeout 6 "$NK_CLIENT" --dtls --reconnect --connect "127.0.0.1:$port" \
        --ca "$CERTS/ca.pem" --servername localhost -v >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    local rc=$?
    stop_pid "$spid"
    [ $rc -eq 0 ] || { fail "nktls-client exited with $rc" "$WORK/$name.cli.err"; return 1; }
    grep -qx "first connection: session id of 32 bytes" "$WORK/$name.cli.err" || { fail "no session from the first connection" "$WORK/$name.cli.err"; return 1; }
    grep -qx "resumed: yes" "$WORK/$name.cli.err" || { fail "nktls-client did not resume" "$WORK/$name.cli.err" "$WORK/$name.srv.out"; return 1; }
    grep -q "^Reused session-id" "$WORK/$name.srv.out" || { fail "s_server did not report the session resumed" "$WORK/$name.srv.out"; return 1; }
    grep -qx "resumed line" "$WORK/$name.srv.out" || { fail "s_server did not receive the line" "$WORK/$name.srv.out"; return 1; }
    return 0
}

section "DTLS 1.2 session resumption with openssl, both ways"
run_case "s_client -sess_out/-sess_in resumes by ticket" s_client_resume_case ticket
run_case "s_client -no_ticket resumes by session id" s_client_resume_case id
run_case "nktls-client --reconnect resumes with s_server (ticket)" s_server_resume_case ticket
run_case "nktls-client --reconnect resumes with s_server -no_ticket (session id)" s_server_resume_case id
# alpn_case: ALPN (RFC 7301) over DTLS with WebRTC's names, both ways: the
# server prefers c-webrtc, the client offers webrtc then c-webrtc.
alpn_s_client_case() {
    local name=ossl-cli-alpn port spid
    port=$(pick_port)
    timeout "$T_TIMEOUT" "$NK_SERVER" --dtls --listen "127.0.0.1:$port" --cert "$CERTS/server.pem" \
        --key "$CERTS/server.key" --count 1 --alpn c-webrtc,webrtc -v >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "nktls-server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "alpn line"; sleep 1; } | timeout 4 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" \
        -CAfile "$CERTS/ca.pem" -servername localhost -alpn webrtc,c-webrtc >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    finish_within "$spid" 3
    grep -qx "ALPN protocol: c-webrtc" "$WORK/$name.cli.out" || { fail "s_client did not get c-webrtc" "$WORK/$name.cli.out"; return 1; }
    grep -qx "alpn: c-webrtc" "$WORK/$name.srv.err" || { fail "nktls-server -v: no 'alpn: c-webrtc'" "$WORK/$name.srv.err"; return 1; }
    return 0
}

alpn_s_server_case() {
    local name=ossl-srv-alpn port spid
    port=$(pick_port)
    (sleep $((T_TIMEOUT - 2)) | timeout "$T_TIMEOUT" openssl s_server -dtls1_2 -accept "127.0.0.1:$port" \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" -naccept 1 -alpn c-webrtc \
        >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err") &
    spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "s_server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    echo "alpn line" | timeout 4 "$NK_CLIENT" --dtls --connect "127.0.0.1:$port" --ca "$CERTS/ca.pem" \
        --servername localhost --alpn webrtc,c-webrtc -v >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    local rc=$?
    stop_pid "$spid"
    [ $rc -eq 0 ] || { fail "nktls-client exited with $rc" "$WORK/$name.cli.err"; return 1; }
    grep -qx "alpn: c-webrtc" "$WORK/$name.cli.err" || { fail "nktls-client -v: no 'alpn: c-webrtc'" "$WORK/$name.cli.err"; return 1; }
    grep -q "ALPN protocols selected: c-webrtc" "$WORK/$name.srv.out" || { fail "s_server selected no c-webrtc" "$WORK/$name.srv.out"; return 1; }
    return 0
}

section "ALPN over DTLS (webrtc, c-webrtc) with openssl, both ways"
run_case "s_client -alpn against nktls-server --dtls --alpn" alpn_s_client_case
run_case "nktls-client --dtls --alpn against s_server -alpn" alpn_s_server_case

# mtls_s_client_case: nktls-server --dtls --verify-client (the event loop):
# s_client without a certificate is refused (certificate_required, nothing
# echoed), with one it is served and named.
mtls_s_client_case() {
    local name=mtls-cli port spid
    port=$(pick_port)
    timeout "$T_TIMEOUT" "$NK_SERVER" --dtls --listen "127.0.0.1:$port" --cert "$CERTS/server.pem" \
        --key "$CERTS/server.key" --ca "$CERTS/ca.pem" --verify-client --count 2 -v \
        >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "nktls-server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "line without a certificate"; sleep 1; } | timeout 3 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" \
        -CAfile "$CERTS/ca.pem" -servername localhost >"$WORK/$name.bad.out" 2>&1
    ! grep -q "^line without a certificate" "$WORK/$name.bad.out" || { fail "a client without a certificate was served" "$WORK/$name.bad.out"; return 1; }
    grep -q "ERR_SSL_CERTIFICATE_REQUIRED" "$WORK/$name.srv.err" || { fail "nktls-server did not refuse for want of a certificate" "$WORK/$name.srv.err"; return 1; }
    { echo "line with a certificate"; sleep 1; } | timeout 3 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" \
        -CAfile "$CERTS/ca.pem" -servername localhost -cert "$CERTS/client.pem" -key "$CERTS/client.key" \
        >"$WORK/$name.cli.out" 2>&1
    finish_within "$spid" 3
    grep -q "^line with a certificate" "$WORK/$name.cli.out" || { fail "the line was not echoed back" "$WORK/$name.cli.out" "$WORK/$name.srv.err"; return 1; }
    grep -q "^peer: CN=nktls test client" "$WORK/$name.srv.err" || { fail "nktls-server -v did not name the client" "$WORK/$name.srv.err"; return 1; }
    return 0
}

# mtls_s_server_case: s_server -Verify 1 (a certificate required), nktls-client
# --dtls --cert: the server names our client certificate and reads the line.
mtls_s_server_case() {
    local name=mtls-srv port spid line="mtls line $RANDOM"
    port=$(pick_port)
    (sleep $((T_TIMEOUT - 2)) | timeout "$T_TIMEOUT" openssl s_server -dtls1_2 -accept "127.0.0.1:$port" \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" -Verify 1 -CAfile "$CERTS/ca.pem" \
        -verify_return_error -naccept 1 >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err") &
    spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "s_server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "$line"; sleep 1; } | timeout 4 "$NK_CLIENT" --dtls --connect "127.0.0.1:$port" --ca "$CERTS/ca.pem" \
        --servername localhost --cert "$CERTS/client.pem" --key "$CERTS/client.key" \
        >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    local rc=$?
    stop_pid "$spid"
    [ $rc -eq 0 ] || { fail "nktls-client exited with $rc" "$WORK/$name.cli.err" "$WORK/$name.srv.err"; return 1; }
    grep -q "subject=.*CN *= *nktls test client" "$WORK/$name.srv.out" || { fail "s_server saw no client certificate" "$WORK/$name.srv.out"; return 1; }
    grep -qF "$line" "$WORK/$name.srv.out" || { fail "s_server did not receive the line" "$WORK/$name.srv.out"; return 1; }
    return 0
}

section "client certificates over DTLS with openssl, both ways"
run_case "s_client with and without a certificate against nktls-server --verify-client" mtls_s_client_case
run_case "nktls-client --cert against s_server -Verify 1" mtls_s_server_case

PSK_ID=dtls-client PSK_KEY=00112233445566778899aabbccddeeff

# psk_s_server_case SUITE: openssl s_server -psk (no certificate), nktls-client
# --psk; the suite, the SRTP keying material and the line checked.
psk_s_server_case() {
    local suite=$1 name=psk-srv-$1 port ours theirs line
    port=$(pick_port)
    line="psk line from nktls-client $RANDOM"
    (sleep $((T_TIMEOUT - 2)) | timeout "$T_TIMEOUT" openssl s_server -dtls1_2 -accept "127.0.0.1:$port" -nocert \
        -psk "$PSK_KEY" -psk_identity "$PSK_ID" -cipher "$suite" -use_srtp SRTP_AES128_CM_SHA1_80 \
        -keymatexport "$LABEL" -keymatexportlen 60 -naccept 1 >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err") &
    local spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "s_server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "$line"; sleep 2; } | timeout 4 "$NK_CLIENT" --dtls --connect "127.0.0.1:$port" --psk "$PSK_ID:$PSK_KEY" \
        --ciphers "$(nk_suite_name "$suite")" --srtp SRTP_AES128_CM_SHA1_80 --keymatexport "$LABEL" \
        --keymatexportlen 60 -v >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    stop_pid "$spid"
    ours=$(hex_of "$WORK/$name.cli.err" "Keying material:")
    theirs=$(hex_of "$WORK/$name.srv.out" "Keying material:")
    grep -qx "cipher: $suite" "$WORK/$name.cli.err" || { fail "nktls-client -v: no 'cipher: $suite'" "$WORK/$name.cli.err"; return 1; }
    [ ${#ours} -eq 120 ] && [ "$ours" = "$theirs" ] || { fail "keying material: ours '$ours', s_server's '$theirs'" "$WORK/$name.srv.out" "$WORK/$name.cli.err"; return 1; }
    grep -qF "$line" "$WORK/$name.srv.out" || { fail "s_server did not receive the line" "$WORK/$name.srv.out"; return 1; }
    return 0
}

# psk_s_client_case SUITE: nktls-server --dtls --psk (no certificate, the
# suite enabled by --ciphers), openssl s_client -psk; a wrong key fails.
psk_s_client_case() {
    local suite=$1 name=psk-cli-$1 port ours theirs line
    port=$(pick_port)
    line="psk line from s_client $RANDOM"
    timeout "$T_TIMEOUT" "$NK_SERVER" --dtls --listen "127.0.0.1:$port" --psk "$PSK_ID:$PSK_KEY" \
        --ciphers "$(nk_suite_name "$suite")" --count 1 --srtp SRTP_AES128_CM_SHA1_80 \
        --keymatexport "$LABEL" --keymatexportlen 60 >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    local spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "nktls-server did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    { echo "wrong key"; sleep 1; } | timeout 3 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" \
        -psk "ff${PSK_KEY:2}" -psk_identity "$PSK_ID" -cipher "$suite" >"$WORK/$name.bad.out" 2>&1
    # Its Finished does not decrypt under our keys: dropped like any record
    # that fails (RFC 6347 §4.1.2.7), so the handshake never completes.
    ! grep -q "Cipher is $suite" "$WORK/$name.bad.out" || { fail "a client with the wrong key connected" "$WORK/$name.bad.out"; return 1; }
    { echo "$line"; sleep 2; } | timeout 4 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" \
        -psk "$PSK_KEY" -psk_identity "$PSK_ID" -cipher "$suite" -use_srtp SRTP_AES128_CM_SHA1_80 \
        -keymatexport "$LABEL" -keymatexportlen 60 >"$WORK/$name.cli.out" 2>"$WORK/$name.cli.err"
    finish_within "$spid" 3
    ours=$(hex_of "$WORK/$name.srv.err" "Keying material:")
    theirs=$(hex_of "$WORK/$name.cli.out" "Keying material:")
    grep -q "Cipher is $suite" "$WORK/$name.cli.out" || { fail "s_client did not agree $suite" "$WORK/$name.cli.out" "$WORK/$name.srv.err"; return 1; }
    [ ${#ours} -eq 120 ] && [ "$ours" = "$theirs" ] || { fail "keying material: ours '$ours', s_client's '$theirs'" "$WORK/$name.cli.out" "$WORK/$name.srv.err"; return 1; }
    grep -qF "$line" "$WORK/$name.cli.out" || { fail "the line was not echoed back" "$WORK/$name.cli.out" "$WORK/$name.srv.err"; return 1; }
    return 0
}

section "pre-shared keys over DTLS (RFC 4279, RFC 5489) with openssl, both ways"
for suite in PSK-AES128-GCM-SHA256 ECDHE-PSK-CHACHA20-POLY1305; do
    run_case "s_server -psk $suite, nktls-client --psk" psk_s_server_case "$suite"
    run_case "s_client -psk $suite, nktls-server --psk" psk_s_client_case "$suite"
done

section "nktls-server --dtls <-> gnutls-cli --udp"
if command -v gnutls-cli >/dev/null; then
    run_case "gnutls-cli SRTP_AES128_CM_HMAC_SHA1_80" gnutls_cli_case SRTP_AES128_CM_HMAC_SHA1_80 SRTP_AES128_CM_SHA1_80
    run_case "gnutls-cli SRTP_AES128_CM_HMAC_SHA1_32" gnutls_cli_case SRTP_AES128_CM_HMAC_SHA1_32 SRTP_AES128_CM_SHA1_32
    run_case "gnutls-cli --udp --resume (a second connection resumes)" gnutls_resume_case
else
    tap_skip "gnutls-cli --udp" "gnutls-cli not installed"
fi

section "gnutls-serv --udp <-> nktls-client --dtls"
if command -v gnutls-serv >/dev/null; then
    run_case "gnutls-serv --udp --echo SRTP_AES128_CM_HMAC_SHA1_80" gnutls_serv_case
else
    tap_skip "gnutls-serv --udp" "gnutls-serv not installed"
fi

# load_case PEER COUNT CONCURRENCY: nktls-load --dtls --mode handshake (the
# event loop's DTLS client) against openssl s_server -dtls1_2 (one client at
# a time, every one served: no -naccept) or nktls-server --dtls (the event
# loop); each handshake on a new UDP socket, so a cookie exchange, then
# close_notify. The report must say all COUNT succeeded and none failed.
NK_LOAD=$NKTLS_BUILD/examples/nktls-load
load_case() {
    local peer=$1 count=$2 conc=$3 name=load-$1 port spid rc
    port=$(pick_port)
    if [ "$peer" = s_server ]; then
        (sleep $((T_TIMEOUT - 2)) | timeout "$T_TIMEOUT" openssl s_server -dtls1_2 -accept "127.0.0.1:$port" \
            -cert "$CERTS/server.pem" -key "$CERTS/server.key" \
            >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err") &
    else
        timeout "$T_TIMEOUT" "$NK_SERVER" --dtls --listen "127.0.0.1:$port" --cert "$CERTS/server.pem" \
            --key "$CERTS/server.key" >"$WORK/$name.srv.out" 2>"$WORK/$name.srv.err" &
    fi
    spid=$!
    wait_listen "$port" "$spid" udp_bound || { stop_pid "$spid"; fail "$peer did not bind UDP port $port" "$WORK/$name.srv.err"; return 1; }
    timeout "$((T_TIMEOUT - 2))" "$NK_LOAD" --dtls --connect "127.0.0.1:$port" --ca "$CERTS/ca.pem" \
        --servername localhost --mode handshake --count "$count" --concurrency "$conc" \
        >"$WORK/$name.out" 2>"$WORK/$name.err"
    rc=$?
    stop_pid "$spid"
    [ "$rc" -eq 0 ] || { fail "nktls-load exited with $rc" "$WORK/$name.out" "$WORK/$name.err" "$WORK/$name.srv.err"; return 1; }
    grep -q "^operations: *$count ok, 0 errors," "$WORK/$name.out" || { fail "nktls-load: not $count ok and 0 errors" "$WORK/$name.out"; return 1; }
    grep -q "^handshakes: *$count," "$WORK/$name.out" || { fail "nktls-load: not $count handshakes" "$WORK/$name.out"; return 1; }
    grep -q "^negotiated: *DTLSv1.2, " "$WORK/$name.out" || { fail "nktls-load: no DTLSv1.2 negotiated" "$WORK/$name.out"; return 1; }
    echo "# $peer: $(grep '^handshakes:' "$WORK/$name.out")"
    return 0
}

section "nktls-load --dtls (the event loop's DTLS client) against openssl s_server and nktls-server"
run_case "nktls-load --dtls --mode handshake --count 20 --concurrency 1 against s_server -dtls1_2" load_case s_server 20 1
run_case "nktls-load --dtls --mode handshake --count 200 --concurrency 8 against nktls-server --dtls" load_case nktls-server 200 8

tap_done
