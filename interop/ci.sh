#!/usr/bin/env bash
# Installs the interop peers and runs the interop tests. Runs as root on a
# fresh Debian machine with Go, Java 17, Python 3 and Node 20; .ci/run calls
# it. CI=1 makes a missing peer a test failure instead of a skip.
set -euo pipefail
cd "$(dirname "$0")"
export CI="${CI:-1}"

netty_jars=(/usr/share/java/netty-{common,buffer,transport,codec,resolver}.jar)

missing=()
dpkg -s libnetty-java >/dev/null 2>&1 || missing+=(libnetty-java)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# tcpdump records framecat sessions on the loopback interface (capture_test.go).
command -v tcpdump >/dev/null 2>&1 || missing+=(tcpdump)
if [ ${#missing[@]} -gt 0 ]; then
	echo "interop: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- issue 18: protocol catalogue peers (real servers from Debian) -------
# PostgreSQL, Mosquitto, Memcached, MariaDB, OpenSSL; Node (http2) is on the
# machine. The servers that refuse root run as framekit-peer, created here,
# with their data under temporary directories (catalogue_test.go).
catalogue_pkgs=()
command -v psql >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || catalogue_pkgs+=(postgresql postgresql-client)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || catalogue_pkgs+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || catalogue_pkgs+=(mosquitto-clients)
command -v memcached >/dev/null 2>&1 || catalogue_pkgs+=(memcached)
[ -x /usr/sbin/mariadbd ] || catalogue_pkgs+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || catalogue_pkgs+=(mariadb-client)
command -v openssl >/dev/null 2>&1 || catalogue_pkgs+=(openssl)
if [ ${#catalogue_pkgs[@]} -gt 0 ]; then
	echo "interop: installing ${catalogue_pkgs[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${catalogue_pkgs[@]}" >/dev/null
fi
id framekit-peer >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin framekit-peer
# --- end of issue 18's block ------------------------------------------------

# --- issue 19 (text framings): redis-server, git, rsyslog, Node's http,
# Python's http.client. One block; apt waits for other engineers' runs.
i19_missing=()
command -v redis-server >/dev/null 2>&1 || i19_missing+=(redis-server)
command -v git >/dev/null 2>&1 || i19_missing+=(git)
command -v rsyslogd >/dev/null 2>&1 || i19_missing+=(rsyslog)
if [ ${#i19_missing[@]} -gt 0 ]; then
	echo "interop (issue 19): installing ${i19_missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${i19_missing[@]}" >/dev/null
fi
echo "interop (issue 19): npm ci (vscode-jsonrpc)"
(cd testdata/jsonrpc && npm ci --no-audit --no-fund --loglevel=error)
# --- end of issue 19's block

# --- issue 18, second round: haproxy (PROXY v1/v2), python3-thrift,
# python3-pymodbus (its server imports serial and serial_asyncio, which
# Debian does not make it depend on), bird2 (BGP), rabbitmq-server (AMQP,
# STOMP plugin). Debian's /usr/bin/python3 is what the tests run.
i18b_missing=()
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || i18b_missing+=(haproxy)
/usr/bin/python3 -c 'import thrift' >/dev/null 2>&1 || i18b_missing+=(python3-thrift)
/usr/bin/python3 -c 'import pymodbus.server, pymodbus.client' >/dev/null 2>&1 || i18b_missing+=(python3-pymodbus python3-serial python3-serial-asyncio)
[ -x /usr/sbin/bird ] || i18b_missing+=(bird2)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || i18b_missing+=(rabbitmq-server)
if [ ${#i18b_missing[@]} -gt 0 ]; then
	echo "interop (issue 18, second round): installing ${i18b_missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${i18b_missing[@]}" >/dev/null
fi
# --- end of issue 18's second block

echo "interop: npm ci (it-length-prefixed)"
(cd testdata/node && npm ci --no-audit --no-fund --loglevel=error)

echo "interop: compiling the Netty peer"
classpath=$(IFS=:; echo "${netty_jars[*]}")
javac -cp "$classpath" -d testdata/netty/build testdata/netty/NettyPeer.java

# A nested module: the root's go vet and staticcheck do not reach it.
echo "interop: go vet"
go vet ./...
staticcheck="$(go env GOPATH)/bin/staticcheck"
if [ -x "$staticcheck" ]; then
	echo "interop: staticcheck"
	"$staticcheck" ./...
fi

echo "interop: go test"
go test -count=1 -timeout 10m ./...
