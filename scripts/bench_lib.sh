# Helpers shared by the whole-system benchmark scripts (sourced, not run).

# A random high port nothing listens on now, for nginx (which cannot report an
# ephemeral port); tidal processes bind port 0 and report theirs (bound_port).
free_port() {  # below Linux's ephemeral range (32768-60999): no outgoing connection takes it meanwhile
  local p
  while true; do
    p=$(shuf -i 20000-32000 -n 1)
    ss -ltn "sport = :$p" | grep -q LISTEN || { echo "$p"; return; }
  done
}

wait_http() { for _ in $(seq 400); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; echo "timeout waiting for $1" >&2; return 1; }

# Waits (up to 20 s) until a tidal gateway at URL reports N ready replicas; returns either way,
# so a proxy without /healthz (nginx, the ceiling proxy) just costs the wait.
wait_ready_replicas() {  # url n
  for _ in $(seq 400); do curl -s "$1/healthz" | grep -q "\"ready_replicas\":$2" && return 0; sleep 0.05; done
  return 0
}

# The port a tidal process bound (port 0) as its log reports it: "<word> ... port=N".
bound_port() {  # log-file word
  for _ in $(seq 400); do
    local p; p=$(grep -o "$2 .*port=[0-9]*" "$1" 2>/dev/null | head -1 | sed 's/.*port=//')
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.05
  done
  echo "no port in $1: $(cat "$1")" >&2; return 1
}

median() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
