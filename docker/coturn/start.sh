#!/bin/sh
# Start coturn with docker/coturn/balie.conf and the static-auth-secret from a file
# ($TURN_SECRET_FILE, default /run/secrets/BALIE_TURN_SECRET, the one Balie reads too): the
# secret is put in a configuration file on /tmp (a tmpfs) readable by coturn's user only,
# never on the command line or in the environment. Arguments go to turnserver.
set -eu
secret_file=${TURN_SECRET_FILE:-/run/secrets/BALIE_TURN_SECRET}
[ -r "$secret_file" ] || { echo "coturn: cannot read $secret_file" >&2; exit 1; }
umask 077
config=$(mktemp /tmp/turnserver.XXXXXX)
{
  cat /etc/coturn/balie.conf
  printf 'static-auth-secret=%s\n' "$(tr -d '\r\n' <"$secret_file")"
} >"$config"
exec turnserver -c "$config" "$@"
