#!/usr/bin/env bash
# Register duban's custom search attributes on an existing Temporal cluster. Safe to re-run:
# an attribute that already exists with the same type is left alone; one that exists with a
# different type is reported as a failure (exit status 1).
#
#   TEMPORAL_ADDRESS=temporal-frontend:7233 TEMPORAL_NAMESPACE=duban \
#     deploy/temporal-search-attributes.sh
#   deploy/temporal-search-attributes.sh --namespace duban [other temporal options, e.g. --tls]
#
# Extra arguments are passed to every `temporal` call. The CLI itself honours
# TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS* and its config profiles.
set -euo pipefail

TEMPORAL="${TEMPORAL:-temporal}"
command -v "$TEMPORAL" >/dev/null || { echo "$0: '$TEMPORAL' CLI not found" >&2; exit 127; }

# name:type, as declared in workflows/effects.py
ATTRIBUTES=(
  TaskStage:Keyword
  LeadUnit:Keyword
  EscalationLevel:Int
  NextDeadline:Datetime
  Light:Keyword
  Urgency:Keyword
  CalendarFallback:Bool
  AssigningUnit:Keyword
  CoUnits:KeywordList
)

status=0
for spec in "${ATTRIBUTES[@]}"; do
  name="${spec%%:*}" type="${spec#*:}"
  if out="$("$TEMPORAL" operator search-attribute create --name "$name" --type "$type" "$@" 2>&1)"; then
    echo "$name ($type): ok"
  elif grep -qi "already exist" <<<"$out" && ! grep -qi "different type" <<<"$out"; then
    echo "$name ($type): already exists"
  else
    echo "$name ($type): FAILED" >&2
    echo "$out" >&2
    status=1
  fi
done
exit "$status"
