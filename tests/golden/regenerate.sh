#!/bin/sh
# Rebuilds rust/zkcore/testdata/golden/*.hex from Apache ZooKeeper's own jute classes.
# Needs a JDK and the ZooKeeper 3.8 jars; ZK_JARS overrides where they are
# (default: the Debian package's /usr/share/java).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
jars=${ZK_JARS:-/usr/share/java}
cp="$jars/zookeeper.jar:$jars/zookeeper-jute.jar"
out="$root/rust/zkcore/testdata/golden"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
javac -encoding UTF-8 -cp "$cp" -d "$build" "$here/GoldenGen.java"
rm -f "$out"/*.hex
java -Dfile.encoding=UTF-8 -cp "$cp:$build" GoldenGen "$out"
echo "wrote $(ls "$out"/*.hex | wc -l) files to $out"
