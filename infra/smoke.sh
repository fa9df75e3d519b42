#!/usr/bin/env bash
# After deploying: sends one harmless command through the real queue and says where it stopped.
#   infra/smoke.sh -g <resource group> [-d <deployment name, default main>] [--wait <seconds>]
#
# The command is Entitlement Management's connection test ({"Stage":"CustomExtensionConnectionTest"}):
# the handler acknowledges it with outcome connectionTest and calls Graph for nothing, so it
# changes nothing anywhere. The steps, each a line with ✓ or ✗ and, on ✗, what to look at:
#   1. the deployment's outputs can be read;
#   2. the message is accepted by the resume-access-request queue (your sign-in needs
#      Azure Service Bus Data Sender on it);
#   3. the queue is drained and nothing new is dead-lettered (the trigger runs, the handler is up);
#   4. the handler's summary line for this message says outcome=connectionTest (Application
#      Insights; ingestion can take a few minutes);
#   5. InProgress answers 200 (the identity can read Graph; a 403 names the missing permission).
# Exits 0 when every step holds, 1 at the first that does not, 2 for usage.
set -euo pipefail

group=""
deployment="main"
wait_seconds=300
while [ $# -gt 0 ]; do
  case "$1" in
    -g|--resource-group) group="$2"; shift 2 ;;
    -d|--deployment) deployment="$2"; shift 2 ;;
    --wait) wait_seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "smoke: unknown argument '$1' (see infra/smoke.sh --help)" >&2; exit 2 ;;
  esac
done
group="${group:-${AZURE_RESOURCE_GROUP:-}}"
if [ -z "$group" ]; then
  echo "usage: infra/smoke.sh -g <resource group> [-d <deployment>] [--wait <seconds>]" >&2
  exit 2
fi
for tool in az curl python3; do
  command -v "$tool" >/dev/null || { echo "smoke: $tool is required" >&2; exit 2; }
done

ok() { printf '✓ %s\n' "$1"; }
stop() {
  printf '✗ %s\n' "$1"
  shift
  for line in "$@"; do printf '    %s\n' "$line"; done
  exit 1
}
# A field of a JSON document on stdin, or empty.
field() { python3 -c 'import json,sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print("" if value is None else value)' "$1"; }

# 1. The deployment's outputs.
outputs=$(az deployment group show -g "$group" -n "$deployment" --query properties.outputs -o json 2>/dev/null) \
  || stop "read the outputs of deployment '$deployment' in '$group'" \
    "az deployment group list -g $group -o table   # the deployment's name (azd names it after the environment)"
output() { printf '%s' "$outputs" | field "$1.value"; }
namespace=$(output serviceBusNamespace)
host=$(output serviceBusFullyQualifiedNamespace)
audience=$(output serviceBusAudience)
app=$(output functionAppName)
app_host=$(output functionAppHostName)
insights=$(output applicationInsightsName)
[ -n "$namespace" ] && [ -n "$host" ] && [ -n "$audience" ] && [ -n "$app" ] \
  || stop "the outputs of '$deployment' lack the Service Bus or function app names" \
    "redeploy infra/main.bicep from this repository"
ok "deployment '$deployment': function app $app, namespace $host"

queue="resume-access-request"
counts() {
  az servicebus queue show -g "$group" --namespace-name "$namespace" -n "$queue" \
    --query countDetails -o json 2>/dev/null
}
before=$(counts) || stop "read the queue $queue" "az servicebus queue show -g $group --namespace-name $namespace -n $queue"
dead_before=$(printf '%s' "$before" | field deadLetterMessageCount)

# 2. Send: the Service Bus REST API with your sign-in, and a MessageId to find the line by.
message_id="smoke-$(date -u +%Y%m%dT%H%M%SZ)-$$"
if ! sent=$(az rest --method post --resource "$audience" \
    --url "https://$host/$queue/messages" \
    --headers 'Content-Type=application/json' "BrokerProperties={\"MessageId\":\"$message_id\"}" \
    --body '{"Stage":"CustomExtensionConnectionTest"}' 2>&1); then
  stop "send the connection test to $queue" "$sent" \
    "your sign-in needs Azure Service Bus Data Sender on the queue:" \
    "az role assignment create --assignee \$(az ad signed-in-user show --query id -o tsv) --role 'Azure Service Bus Data Sender' --scope \$(az servicebus queue show -g $group --namespace-name $namespace -n $queue --query id -o tsv)"
fi
ok "sent $message_id to $queue"

# 3. Drained, and nothing new dead-lettered.
deadline=$((SECONDS + wait_seconds))
while :; do
  now=$(counts) || stop "read the queue $queue"
  active=$(printf '%s' "$now" | field activeMessageCount)
  dead=$(printf '%s' "$now" | field deadLetterMessageCount)
  if [ "${dead:-0}" -gt "${dead_before:-0}" ]; then
    stop "the queue dead-lettered a message ($dead_before → $dead dead letters)" \
      "the handler refused it or failed on every delivery: its lines in Application Insights (below) say why" \
      "az monitor app-insights query -g $group --app $insights --analytics-query \"traces | where message has 'ResumeAccessRequestQueue' | order by timestamp desc | take 20\""
  fi
  [ "${active:-0}" -eq 0 ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    stop "the queue still holds $active message(s) after ${wait_seconds}s: the queue trigger is not taking them" \
      "is the app running?  az functionapp show -g $group -n $app --query state" \
      "the host's own errors: az monitor app-insights query -g $group --app $insights --analytics-query \"exceptions | order by timestamp desc | take 10\"" \
      "the app's identity needs Azure Service Bus Data Receiver on the namespace (the template grants it)"
  fi
  sleep 5
done
ok "the queue is drained and no message was dead-lettered"

# 4. The handler's line for this message.
deadline=$((SECONDS + wait_seconds))
query="traces | where timestamp > ago(1h) | where message has '$message_id' | project message | take 1"
line=""
while :; do
  line=$(az monitor app-insights query -g "$group" --app "$insights" --analytics-query "$query" -o json 2>/dev/null \
    | python3 -c 'import json,sys
rows = json.load(sys.stdin).get("tables", [{}])[0].get("rows", [])
print(rows[0][0] if rows else "")' 2>/dev/null || true)
  [ -n "$line" ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    stop "no line for $message_id in Application Insights after ${wait_seconds}s" \
      "ingestion can lag: run this again in a few minutes, or look in Live Metrics" \
      "(the query needs the application-insights extension: az extension add -n application-insights)"
  fi
  sleep 10
done
case "$line" in
  *outcome=connectionTest*) ok "the handler answered it: outcome=connectionTest" ;;
  *) stop "the handler's line for $message_id is not a connection test's" "$line" ;;
esac

# 5. Graph, through InProgress: the sweep reads Graph with the app's identity.
key=$(az functionapp function keys list -g "$group" -n "$app" --function-name InProgress --query default -o tsv 2>/dev/null) \
  || stop "read InProgress's function key" "az functionapp function keys list -g $group -n $app --function-name InProgress"
body=$(mktemp)
trap 'rm -f "$body"' EXIT
status=$(curl -sS -o "$body" -w '%{http_code}' --max-time 120 "https://$app_host/api/InProgress?code=$key") || status=000
case "$status" in
  200)
    summary=$(python3 -c 'import json,sys
report = json.load(open(sys.argv[1]))
print("count=%s staleCount=%s partial=%s" % (report["count"], report["staleCount"], str(report["partial"]).lower()))' "$body" 2>/dev/null || echo "an answer that is not the report")
    ok "InProgress answered 200: $summary"
    ;;
  *)
    stop "InProgress answered $status" "$(head -c 600 "$body")" \
      "a 403 from Graph: grant the identity the permissions of README, Graph permissions (or run with grantGraphPermissions=true)"
    ;;
esac
echo "smoke: every step holds"
