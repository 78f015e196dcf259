#!/bin/bash
# The container's HEALTHCHECK (deploy/Dockerfile): GET /healthz on ftpgate's HTTP side port,
# healthy on 200. Exit 0 healthy, 1 unhealthy (draining on SIGTERM answers 503; a side port that
# is off or not listening yet refuses the connection).
#
# bash alone, through /dev/tcp: the runtime image has no curl or wget, and an FTP login as a
# probe would count as a session (it would log a line every interval and keep run.exit_when_idle
# from ever firing).
#
# Settings (the container's environment):
#   FTPGATE_HTTP_PORT        the side port, as ftpgate itself reads it (default 9100, the port
#                            of the image's config)
#   FTPGATE_HEALTHCHECK_HOST where to connect (default 127.0.0.1)
#   FTPGATE_HTTP_TOKEN_FILE  sent as a bearer token when the side port requires one
set -u

port="${FTPGATE_HTTP_PORT:-9100}"
host="${FTPGATE_HEALTHCHECK_HOST:-127.0.0.1}"
case "$port" in '' | *[!0-9]*) echo "healthcheck: bad port '$port'" >&2; exit 1 ;; esac

auth=""
token_file="${FTPGATE_HTTP_TOKEN_FILE:-}"
if [ -n "$token_file" ]; then
  if ! token="$(<"$token_file")"; then
    echo "healthcheck: cannot read the token file" >&2
    exit 1
  fi
  # As ftpgate does: trailing white space (an editor's newline) is not part of the token.
  token="${token%"${token##*[![:space:]]}"}"
  auth="Authorization: Bearer ${token}"$'\r\n'
fi

# ftpgate answers a loopback-only side port only for a loopback Host (DNS rebinding); with a
# token it answers any Host.
if ! exec 3<>"/dev/tcp/${host}/${port}"; then
  echo "healthcheck: nothing listens on ${host}:${port}" >&2
  exit 1
fi
printf 'GET /healthz HTTP/1.1\r\nHost: %s:%s\r\n%sConnection: close\r\n\r\n' \
  "$host" "$port" "$auth" >&3
if ! IFS= read -r -t 5 status <&3; then
  echo "healthcheck: no answer from ${host}:${port}" >&2
  exit 1
fi
exec 3<&-
status="${status%$'\r'}"
case "$status" in
  "HTTP/1."[01]" 200"*) exit 0 ;;
  *) echo "healthcheck: ${status}" >&2; exit 1 ;;
esac
