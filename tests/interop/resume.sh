#!/usr/bin/env bash
# tests/interop/resume.sh — TLS 1.3 resumption with real peers: nktls-server's
# session tickets resumed by `openssl s_client` and `gnutls-cli` (and its
# TLS 1.2 sessions, by session id and by RFC 5077 ticket), and
# nktls-client (--sess-out / --sess-in) resuming with `openssl s_server` and
# `gnutls-serv` (and nktls-client --reconnect resuming a TLS 1.2 session with
# `openssl s_server -tls1_2`, by id and by ticket); two nktls-servers sharing a
# ticket key file. A resumed handshake must say so on both sides, and a ticket
# the server cannot use must fall back to a full handshake. TAP on stdout.
source "$(dirname "$0")/lib.sh"

require_nktls
require_tool openssl
certs_init || exit 1
PORT_FILE=$WORK/port

# nktls-server's tickets, resumed by s_client.
srv_s_client() {
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    local sess=$WORK/ossl.sess out
    rm -f "$sess"
    out=$( (echo first; sleep 0.3) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" \
        -CAfile "$CERTS/ca.pem" -servername localhost -sess_out "$sess" 2>&1)
    echo "$out" | grep -q '^New, TLSv1.3' || { fail "first handshake not a new TLS 1.3 session: $(echo "$out" | tail -1)"; return 1; }
    [ -s "$sess" ] || { fail "s_client saved no session (no ticket from nktls-server)"; return 1; }
    out=$( (echo second; sleep 0.3) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" \
        -CAfile "$CERTS/ca.pem" -servername localhost -sess_in "$sess" 2>&1)
    echo "$out" | grep -q '^Reused, TLSv1.3' || { fail "second handshake not resumed: $(echo "$out" | grep -E '^(New|Reused)')"; return 1; }
    echo "$out" | grep -qx second || { fail "data did not come back on the resumed connection"; return 1; }
}

# TLS 1.2 sessions by id (RFC 5246 §7.3): s_client -tls1_2 -no_ticket
# keeps the session nktls-server named and offers it again.
srv_s_client_12() {
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    local sess=$WORK/ossl12.sess out id1 id2
    rm -f "$sess"
    out=$( (echo first; sleep 0.3) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" \
        -CAfile "$CERTS/ca.pem" -servername localhost -tls1_2 -no_ticket -sess_out "$sess" 2>&1)
    echo "$out" | grep -q '^New, TLSv1.2' || { fail "first handshake not a new TLS 1.2 session: $(echo "$out" | tail -1)"; return 1; }
    id1=$(echo "$out" | sed -n 's/^ *Session-ID: *//p')
    [ ${#id1} -eq 64 ] || { fail "nktls-server gave no 32-byte session id: '$id1'"; return 1; }
    out=$( (echo second; sleep 0.3) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" \
        -CAfile "$CERTS/ca.pem" -servername localhost -tls1_2 -no_ticket -sess_in "$sess" 2>&1)
    echo "$out" | grep -q '^Reused, TLSv1.2' || { fail "second handshake not resumed: $(echo "$out" | grep -E '^(New|Reused)')"; return 1; }
    id2=$(echo "$out" | sed -n 's/^ *Session-ID: *//p')
    [ "$id1" = "$id2" ] || { fail "resumed under another id: $id1 / $id2"; return 1; }
    echo "$out" | grep -qx second || { fail "data did not come back on the resumed connection"; return 1; }
    # Another server name: nktls-server does not resume the session there.
    out=$( (echo third; sleep 0.3) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" \
        -CAfile "$CERTS/ca.pem" -servername other.localhost -tls1_2 -no_ticket -sess_in "$sess" 2>&1)
    echo "$out" | grep -q '^New, TLSv1.2' || { fail "resumed for another server name: $(echo "$out" | grep -E '^(New|Reused)')"; return 1; }
}

# TLS 1.2 with RFC 5077 tickets: s_client -tls1_2 asks for one, keeps it in
# its session and offers it again; nktls-server resumes from the ticket.
srv_s_client_12_ticket() {
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    local sess=$WORK/ossl12t.sess out
    rm -f "$sess"
    out=$( (echo first; sleep 0.3) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" \
        -CAfile "$CERTS/ca.pem" -servername localhost -tls1_2 -sess_out "$sess" 2>&1)
    echo "$out" | grep -q '^New, TLSv1.2' || { fail "first handshake not a new TLS 1.2 session: $(echo "$out" | tail -1)"; return 1; }
    echo "$out" | grep -q 'TLS session ticket:' || { fail "no ticket from nktls-server"; return 1; }
    out=$( (echo second; sleep 0.3) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" \
        -CAfile "$CERTS/ca.pem" -servername localhost -tls1_2 -sess_in "$sess" 2>&1)
    echo "$out" | grep -q '^Reused, TLSv1.2' || { fail "not resumed from the ticket: $(echo "$out" | grep -E '^(New|Reused)')"; return 1; }
    echo "$out" | grep -qx second || { fail "data did not come back on the resumed connection"; return 1; }
}

# A fleet: two nktls-server processes with one ticket key file
# (docs/ticket-keys.md). A ticket from server A resumes on server B, TLS 1.2
# and TLS 1.3; a server with another file does not take it; a malformed file
# stops the server with a clear error.
fleet() {
    local keys=$WORK/fleet.keys other=$WORK/other.keys sess out v a_pid a_port b_pid b_port
    { echo "nktls-ticket-keys 1"
      echo "$(openssl rand -hex 16) $(openssl rand -hex 32) $(( $(date +%s) - 60 )) 0"; } >"$keys"
    { echo "nktls-ticket-keys 1"
      echo "$(openssl rand -hex 16) $(openssl rand -hex 32) $(( $(date +%s) - 60 )) 0"; } >"$other"
    nk_server_start fleet-a --cert "$CERTS/server.pem" --key "$CERTS/server.key" --ticket-keys "$keys" ||
        { fail "server A did not start" "$NK_LOG"; return 1; }
    a_pid=$NK_PID a_port=$NK_PORT
    nk_server_start fleet-b --cert "$CERTS/server.pem" --key "$CERTS/server.key" --ticket-keys "$keys" ||
        { stop_pid "$a_pid"; fail "server B did not start" "$NK_LOG"; return 1; }
    b_pid=$NK_PID b_port=$NK_PORT
    for v in 1_2 1_3; do
        sess=$WORK/fleet$v.sess
        out=$( (echo a; sleep 0.3) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$a_port" \
            -CAfile "$CERTS/ca.pem" -servername localhost -tls$v -sess_out "$sess" 2>&1)
        echo "$out" | grep -q '^New,' || { stop_pid "$a_pid" "$b_pid"; fail "TLS $v: no session from A"; return 1; }
        out=$( (echo b; sleep 0.3) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$b_port" \
            -CAfile "$CERTS/ca.pem" -servername localhost -tls$v -sess_in "$sess" 2>&1)
        echo "$out" | grep -q '^Reused,' ||
            { stop_pid "$a_pid" "$b_pid"; fail "TLS $v: A's ticket not resumed on B: $(echo "$out" | grep -E '^(New|Reused)')"; return 1; }
    done
    stop_pid "$a_pid" "$b_pid"
    nk_server_start fleet-c --cert "$CERTS/server.pem" --key "$CERTS/server.key" --ticket-keys "$other" ||
        { fail "server C did not start" "$NK_LOG"; return 1; }
    out=$( (echo c; sleep 0.3) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" \
        -CAfile "$CERTS/ca.pem" -servername localhost -tls1_2 -sess_in "$WORK/fleet1_2.sess" 2>&1)
    stop_pid "$NK_PID"
    echo "$out" | grep -q '^New, TLSv1.2' || { fail "resumed under another key file"; return 1; }
    echo "nktls-ticket-keys 1" >"$other"
    echo "0011 2233 1 0" >>"$other"
    out=$(timeout "$T_TIMEOUT" "$NK_SERVER" --listen 127.0.0.1:0 --cert "$CERTS/server.pem" \
        --key "$CERTS/server.key" --ticket-keys "$other" 2>&1 </dev/null)
    [ $? -ne 0 ] && echo "$out" | grep -q 'ERR_TICKET_KEYS_FORMAT' ||
        { fail "a malformed key file was not refused: $out"; return 1; }
}

# gnutls-cli held to TLS 1.2, --resume: two connections in one run.
srv_gnutls_cli_12() {
    command -v gnutls-cli >/dev/null || { SKIP_REASON="gnutls-cli not installed"; return 2; }
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    local out
    out=$( (echo hello; sleep 1) | timeout "$T_TIMEOUT" gnutls-cli --port "$NK_PORT" 127.0.0.1 \
        --priority NORMAL:-VERS-ALL:+VERS-TLS1.2 --x509cafile "$CERTS/ca.pem" --sni-hostname localhost --resume 2>&1)
    echo "$out" | grep -q 'TLS1.2' || { fail "not TLS 1.2: $(echo "$out" | grep -i version | tr '\n' ' ')"; return 1; }
    echo "$out" | grep -q 'This is a resumed session' ||
        { fail "gnutls-cli did not resume: $(echo "$out" | grep -i resum | tr '\n' ' ')"; return 1; }
}

# The same with gnutls-cli --resume (two connections in one run).
srv_gnutls_cli() {
    command -v gnutls-cli >/dev/null || { SKIP_REASON="gnutls-cli not installed"; return 2; }
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    local out
    out=$( (echo hello; sleep 1) | timeout "$T_TIMEOUT" gnutls-cli --port "$NK_PORT" 127.0.0.1 \
        --x509cafile "$CERTS/ca.pem" --sni-hostname localhost --resume 2>&1)
    echo "$out" | grep -q 'This is a resumed session' ||
        { fail "gnutls-cli did not resume: $(echo "$out" | grep -i resum | tr '\n' ' ')"; return 1; }
}

# nktls-client keeps the peer's ticket and offers it on the next connection,
# to the same server process (a restarted server has new ticket keys).
# cli_resume NAME EXPECTED_REPLY SERVER_ARGS... (@PORT@ stands for the port)
cli_resume() {
    local peer=$1 reply=$2 sess=$WORK/$1.sess port a args=() i
    shift 2
    rm -f "$sess"
    port=$(pick_port)
    for a in "$@"; do args+=("${a//@PORT@/$port}"); done
    "${args[@]}" </dev/null >"$WORK/resume-$peer.srv" 2>&1 &
    PEER_PID=$!
    wait_listen "$port" "$PEER_PID" || { fail "$peer did not start" "$WORK/resume-$peer.srv"; return 1; }
    for i in 1 2; do
        local how=(--sess-out "$sess")
        [ "$i" = 2 ] && how=(--sess-in "$sess")
        (echo hello; sleep 0.5) | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$port"             --servername localhost --ca "$CERTS/ca.pem" --echo -v "${how[@]}"             >"$WORK/resume-$peer-$i.out" 2>"$WORK/resume-$peer-$i.err"
        RC=$?
        [ "$RC" -eq 0 ] || { fail "nktls-client exited with status $RC" "$WORK/resume-$peer-$i.err"; return 1; }
        grep -qx "$reply" "$WORK/resume-$peer-$i.out" ||
            { fail "no '$reply' back from $peer" "$WORK/resume-$peer-$i.err"; return 1; }
        if [ "$i" = 1 ]; then
            grep -qx 'resumed: no' "$WORK/resume-$peer-1.err" || { fail "first connection says it resumed" "$WORK/resume-$peer-1.err"; return 1; }
            [ -s "$sess" ] || { fail "no ticket saved from $peer" "$WORK/resume-$peer-1.err"; return 1; }
        else
            grep -qx 'resumed: yes' "$WORK/resume-$peer-2.err" || { fail "second connection not resumed" "$WORK/resume-$peer-2.err"; return 1; }
        fi
    done
    stop_pid "$PEER_PID"
}

# nktls-client --reconnect: the first connection's TLS 1.2 session (by id with
# -no_ticket, by ticket otherwise) offered to the second through
# SSL_connect, against openssl s_server -tls1_2.
cli_resume12() {
    local how=$1 port
    shift
    port=$(pick_port)
    openssl s_server -accept "127.0.0.1:$port" -naccept 2 -tls1_2 -rev "$@" \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" </dev/null >"$WORK/resume12-$how.srv" 2>&1 &
    PEER_PID=$!
    wait_listen "$port" "$PEER_PID" || { fail "s_server did not start" "$WORK/resume12-$how.srv"; return 1; }
    (echo hello; sleep 0.5) | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$port" \
        --servername localhost --ca "$CERTS/ca.pem" --tls-max 1.2 --reconnect --echo -v \
        >"$WORK/resume12-$how.out" 2>"$WORK/resume12-$how.err"
    RC=$?
    stop_pid "$PEER_PID"
    [ "$RC" -eq 0 ] || { fail "nktls-client exited with status $RC" "$WORK/resume12-$how.err"; return 1; }
    grep -qx olleh "$WORK/resume12-$how.out" || { fail "no 'olleh' back" "$WORK/resume12-$how.err"; return 1; }
    grep -q 'first connection: session id of 32 bytes' "$WORK/resume12-$how.err" ||
        { fail "no session id from the first connection" "$WORK/resume12-$how.err"; return 1; }
    grep -qx 'resumed: yes' "$WORK/resume12-$how.err" || { fail "second connection not resumed" "$WORK/resume12-$how.err"; return 1; }
}

# A ticket that is not this server's: a full handshake, not a failure.
cli_stale_ticket() {
    local sess=$WORK/stale.sess
    [ -s "$WORK/openssl.sess" ] || { SKIP_REASON="no ticket from the previous case"; return 2; }
    cp "$WORK/openssl.sess" "$sess"
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    echo hi | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$NK_PORT" --servername localhost \
        --ca "$CERTS/ca.pem" --echo --sess-in "$sess" -v >"$WORK/stale.out" 2>"$WORK/stale.err"
    RC=$?
    [ "$RC" -eq 0 ] || { fail "nktls-client exited with status $RC" "$WORK/stale.err"; return 1; }
    grep -qx 'resumed: no' "$WORK/stale.err" || { fail "resumed with another server's ticket" "$WORK/stale.err"; return 1; }
    grep -qx hi "$WORK/stale.out" || { fail "no echo" "$WORK/stale.err"; return 1; }
}

data_init
section "nktls-server tickets"
run_case "resume.nktls-server.s_client" srv_s_client
run_case "resume.nktls-server.gnutls-cli" srv_gnutls_cli
section "nktls-server TLS 1.2 sessions"
run_case "resume.nktls-server.s_client_tls12_id" srv_s_client_12
run_case "resume.nktls-server.s_client_tls12_ticket" srv_s_client_12_ticket
run_case "resume.nktls-server.gnutls-cli_tls12" srv_gnutls_cli_12
nk_server_stop
run_case "resume.nktls-server.fleet_key_file" fleet
section "nktls-client tickets"
run_case "resume.nktls-client.s_server" cli_resume openssl olleh \
    openssl s_server -accept "127.0.0.1:@PORT@" -naccept 2 -tls1_3 -rev \
    -cert "$CERTS/server.pem" -key "$CERTS/server.key"
if command -v gnutls-serv >/dev/null; then
    run_case "resume.nktls-client.gnutls-serv" cli_resume gnutls hello \
        gnutls-serv --port @PORT@ --echo --x509certfile "$CERTS/server.pem" --x509keyfile "$CERTS/server.key"
fi
run_case "resume.nktls-client.s_server_tls12_id" cli_resume12 id -no_ticket
run_case "resume.nktls-client.s_server_tls12_ticket" cli_resume12 ticket
run_case "resume.nktls-client.stale_ticket" cli_stale_ticket
nk_server_stop
tap_done
