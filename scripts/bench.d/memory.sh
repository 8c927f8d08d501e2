# scripts/bench.d/memory.sh — section "memory" of scripts/bench (sourced).
#
#   memory       userspace memory per established idle connection: the
#                server's resident memory (VmRSS of every process of its
#                session) after a warm-up of 50 handshakes, then again once
#                `nktls-load --mode idle` holds N connections open (N =
#                NKTLS_BENCH_IDLE, default 5000, --quick 500) and one second
#                has passed: (after - before) / N. The connections open at
#                1000 a second (--rate; 50 in the emulated VM), so that few handshakes
#                run at once: opened all together, the heap's high-water mark
#                of N simultaneous handshakes (freed, but kept by malloc) would
#                count as the idle connections' memory. In the VM also the kernel's
#                slab growth per connection (/proc/meminfo Slab: both ends'
#                sockets, and the kTLS state), for scale; on the host it is in
#                the raw lines only (other work on the machine moves it).
#     host       nktls-server --io uring, --io epoll (software record layer)
#                and nginx (one worker), the same certificate (P-256) and suite.
#     VM         inside scripts/vm-test's VM (the host kernel has no tls
#                module): nktls-server --io uring with --ktls auto (the kernel
#                carries the records; /proc/net/tls_stat proves it) and with
#                --ktls off, N/5 connections (the VM is small; default 1000).
# shellcheck shell=bash

MEM_SERVERS=(nktls-uring nktls-epoll nginx)

slab_kb() { awk '$1 == "Slab:" { print $2 }' /proc/meminfo; }

# mem_host SRV N RAW: one server's figures into R[mem_SRV_*].
mem_host() {
    local srv=$1 n=$2 raw=$3 rss0 rss1 slab0 slab1 lsid i ok=0 wait_s p=mem_$1
    if ! server_start "$srv" p256; then
        R[${p}_err]=$SRV_ERR; FAILED=1; return
    fi
    LOAD_SECS=30
    load "mem-$srv-warm" "$raw" --mode handshake --concurrency 4 --count 50 || true
    sleep 0.5
    rss0=$(session_rss_kb "$SRV")
    slab0=$(slab_kb)
    wait_s=$((30 + n / 500))
    spawn "$WORK/idle-$srv.out" "$WORK/idle-$srv.err" "${PIN_CLIENT[@]}" \
        "$BIN/examples/nktls-load" --connect "127.0.0.1:$PORT" --servername localhost \
        --insecure --tls 1.3 --ciphers "$CIPHER" --groups X25519 --mode idle \
        --concurrency "$n" --rate 1000 --threads 1 --duration $((wait_s + 60))
    lsid=$SPAWNED
    for i in $(seq $((wait_s * 10))); do
        if grep -q '^idle: ' "$WORK/idle-$srv.out" 2>/dev/null; then ok=1; break; fi
        alive "$lsid" || break
        sleep 0.1
    done
    if [ "$ok" = 1 ]; then
        sleep 1
        rss1=$(session_rss_kb "$SRV")
        slab1=$(slab_kb)
        R[${p}_bytes]=$(calc "($rss1 - $rss0) * 1024 / $n" %.0f)
        R[${p}_slab]=$(calc "($slab1 - $slab0) * 1024 / $n" %.0f)
        R[${p}_rss0]=$rss0
        R[${p}_rss1]=$rss1
        echo "server=$srv conns=$n rss0_kb=$rss0 rss1_kb=$rss1 bytes_per_conn=${R[${p}_bytes]} slab0_kb=$slab0 slab1_kb=$slab1 slab_bytes_per_conn=${R[${p}_slab]} idle=\"$(grep '^idle: ' "$WORK/idle-$srv.out")\"" >>"$raw"
    else
        R[${p}_err]="nktls-load --mode idle did not report $n connections open in ${wait_s} s: $(tail -c 200 "$WORK/idle-$srv.out" "$WORK/idle-$srv.err" 2>/dev/null | tr '\n' ' ')"
        FAILED=1
    fi
    stop "$lsid"
    stop "$SRV"
}

# mem_vm N RAW: nktls-server with and without kTLS inside the VM.
mem_vm() {
    local n=$1 raw=$2 vm_sh=$OUTDIR/vm-memory.sh rc=0 line k accel vm_timeout
    cat >"$vm_sh" <<'VMEOF'
#!/bin/sh
# Written by scripts/bench (memory section); runs inside the VM.
srv=$1 load=$2 certs=$3 n=$4 cipher=$5
port=4433
rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }
slab() { awk '$1 == "Slab:" { print $2 }' /proc/meminfo; }
tls() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat 2>/dev/null; }
ulimit -n 65536 2>/dev/null
echo "# kernel $(uname -r)"
for ktls in auto off; do
    port=$((port + 1))
    "$srv" --listen 127.0.0.1:$port --cert "$certs/server.pem" --key "$certs/server.key" \
        --ciphers "$cipher" --groups X25519 --tls-min 1.3 --io uring --workers 1 \
        --ktls $ktls >/tmp/srv-$ktls.log 2>&1 &
    spid=$!
    hex=$(printf '%04X' $port)
    i=0
    while [ $i -lt 100 ] && ! grep -q ":$hex 00000000:0000 0A" /proc/net/tcp; do
        sleep 0.1; i=$((i + 1))
    done
    common="--connect 127.0.0.1:$port --servername localhost --insecure --tls 1.3 --ciphers $cipher --groups X25519 --ktls off"
    "$load" $common --mode handshake --concurrency 4 --count 50 >/dev/null 2>&1
    sleep 0.5
    rss0=$(rss $spid); slab0=$(slab)
    "$load" $common --mode idle --concurrency "$n" --rate 50 --duration 600 \
        >/tmp/idle-$ktls.out 2>&1 &
    lpid=$!
    i=0
    while [ $i -lt 3000 ] && ! grep -q '^idle: ' /tmp/idle-$ktls.out; do
        kill -0 $lpid 2>/dev/null || break
        sleep 0.1; i=$((i + 1))
    done
    if grep -q '^idle: ' /tmp/idle-$ktls.out; then
        sleep 1
        echo "mode=vm ktls=$ktls conns=$n rss0_kb=$rss0 rss1_kb=$(rss $spid) slab0_kb=$slab0 slab1_kb=$(slab) tls_tx_sw=$(tls TlsCurrTxSw) tls_rx_sw=$(tls TlsCurrRxSw)"
    else
        echo "mode=vm ktls=$ktls error=no-idle-report: $(tail -c 200 /tmp/idle-$ktls.out /tmp/srv-$ktls.log | tr '\n' ' ')"
    fi
    kill $lpid 2>/dev/null; wait $lpid 2>/dev/null
    kill $spid 2>/dev/null; wait $spid 2>/dev/null
done
VMEOF
    accel=$(vm_accel)
    vm_timeout=$([ "$accel" = kvm ] && echo 240 || echo 600)
    say "memory: VM, $n idle connections, kTLS auto and off (up to $vm_timeout s)"
    spawn "$WORK/vm-mem.out" "$WORK/vm-mem.err" env NKTLS_VM_MEM="${NKTLS_VM_MEM:-2048}" \
        "$ROOT/scripts/vm-test" --verbose --timeout "$vm_timeout" \
        --file "$BIN/examples/nktls-server" --file "$BIN/examples/nktls-load" \
        --dir "$CERTS" --file "$vm_sh" -- /bin/sh "$vm_sh" "$BIN/examples/nktls-server" \
        "$BIN/examples/nktls-load" "$CERTS" "$n" "$CIPHER"
    local pid=$SPAWNED
    wait "$pid" || rc=$?
    stop "$pid"
    if grep -q 'retrying with TCG' "$WORK/vm-mem.err"; then accel=tcg; fi
    R[mem_vm_accel]=$accel
    R[mem_vm_n]=$n
    { echo "# VM ($accel, vm-test exit $rc)"; cat "$WORK/vm-mem.out"; } >>"$raw"
    for k in auto off; do
        line=$(grep "^mode=vm ktls=$k " "$WORK/vm-mem.out" | tail -1 || true)
        if [ -n "$line" ] && [ -n "$(kv rss1_kb "$line")" ]; then
            R[mem_vm_${k}_bytes]=$(calc "($(kv rss1_kb "$line") - $(kv rss0_kb "$line")) * 1024 / $n" %.0f)
            R[mem_vm_${k}_slab]=$(calc "($(kv slab1_kb "$line") - $(kv slab0_kb "$line")) * 1024 / $n" %.0f)
            R[mem_vm_${k}_tx]=$(kv tls_tx_sw "$line")
            R[mem_vm_${k}_rx]=$(kv tls_rx_sw "$line")
        else
            R[mem_vm_${k}_err]=${line#*error=}
            [ -n "${R[mem_vm_${k}_err]}" ] || R[mem_vm_${k}_err]="did not run (vm-test exit $rc: $(tail -3 "$WORK/vm-mem.err" | tr '\n' ' '))"
            FAILED=1
        fi
    done
    if [ -z "${R[mem_vm_auto_err]:-}" ] && [ "${R[mem_vm_auto_tx]:-0}" -lt "$n" ]; then
        R[mem_vm_auto_note]="only ${R[mem_vm_auto_tx]:-0} of $n connections in kernel TLS (TlsCurrTxSw)"
    fi
}

memory_table() {
    local srv p
    echo "== memory: userspace (server RSS growth) per idle established connection; $CIPHER, P-256"
    echo "   host: ${R[mem_n]} connections held by nktls-load --mode idle; $PIN_NOTE"
    printf '   %-36s %12s %14s %9s\n' server "bytes/conn" "kernel slab" "this/nk"
    for srv in "${MEM_SERVERS[@]}"; do
        p=mem_$srv
        if [ -n "${R[${p}_err]:-}" ]; then
            printf '   %-36s not run: %s\n' "$(server_label "$srv")" "${R[${p}_err]}"
            continue
        fi
        # The host's slab figure moves with everything else the machine does:
        # it is in the raw lines only.
        printf '   %-36s %12s %14s %9s\n' "$(server_label "$srv")" "$(fmt "${R[${p}_bytes]:-}")" \
            "" "$(ratio "${R[${p}_bytes]:-}" "${R[mem_nktls-uring_bytes]:-}")"
    done
    if [ -n "${R[mem_vm_n]:-}" ]; then
        echo "   VM (${R[mem_vm_accel]:-?}, kernel with tls): ${R[mem_vm_n]} connections, nktls-server --io uring"
        for p in auto off; do
            local label="nktls-server --ktls $p"
            if [ -n "${R[mem_vm_${p}_err]:-}" ]; then
                printf '   %-36s not run: %s\n' "$label" "${R[mem_vm_${p}_err]}"
                continue
            fi
            printf '   %-36s %12s %14s %9s  (kTLS tx/rx now: %s/%s)\n' "$label" \
                "$(fmt "${R[mem_vm_${p}_bytes]:-}")" "$(fmt "${R[mem_vm_${p}_slab]:-}")" \
                "$(ratio "${R[mem_vm_${p}_bytes]:-}" "${R[mem_vm_off_bytes]:-}")" \
                "${R[mem_vm_${p}_tx]:-?}" "${R[mem_vm_${p}_rx]:-?}"
        done
        [ -z "${R[mem_vm_auto_note]:-}" ] || echo "   NOTE: ${R[mem_vm_auto_note]}"
    fi
    echo
    echo "   bytes/conn: (RSS with the connections - RSS before) / connections; RSS counts"
    echo "   touched pages, so allocator caching and page granularity blur small figures."
    echo "   Connections open at 1000/s (VM: 50/s); what the handshakes in flight meanwhile"
    echo "   touched stays in RSS (malloc keeps it). kernel slab (VM only, a quiet"
    echo "   machine): /proc/meminfo Slab growth per connection, both ends' sockets and the"
    echo "   kTLS contexts. this/nk: over nktls --io uring's (host) or --ktls off's (VM)."
}

section_memory() {
    local raw=$OUTDIR/memory.raw txt=$OUTDIR/memory.txt n srv
    : >"$raw"
    setup_certs
    n=${NKTLS_BENCH_IDLE:-$(qd 5000 500)}
    R[mem_n]=$n
    echo "# memory: $PIN_NOTE; load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"
    if [[ $("$BIN/examples/nktls-load" --help 2>&1) != *idle* ]]; then
        for srv in "${MEM_SERVERS[@]}"; do R[mem_${srv}_err]="nktls-load has no --mode idle"; done
        FAILED=1
    else
        for srv in "${MEM_SERVERS[@]}"; do
            say "memory: $srv, $n idle connections"
            mem_host "$srv" "$n" "$raw"
        done
        mem_vm $((n / 5)) "$raw"
    fi
    memory_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
