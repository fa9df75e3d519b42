#!/usr/bin/env bash
# Before deploying: does the region run this app the way the parameters ask?
#   infra/preflight.sh <region> [FlexConsumption|ElasticPremium]
# Flex Consumption must offer the `custom` runtime in the region; where it does not, deploy
# with hostingPlan=ElasticPremium (README, Hosting). Exits 1 with what to do, 0 when fine.
# azd runs it before provisioning (azure.yaml), with AZURE_LOCATION.
set -euo pipefail

region="${1:-${AZURE_LOCATION:-}}"
plan="${2:-${HOSTING_PLAN:-FlexConsumption}}"
if [ -z "$region" ]; then
  echo "usage: infra/preflight.sh <region> [FlexConsumption|ElasticPremium]" >&2
  exit 2
fi
command -v az >/dev/null || { echo "preflight: the Azure CLI (az) is required" >&2; exit 2; }

case "$plan" in
  FlexConsumption)
    runtimes=$(az functionapp list-flexconsumption-runtimes --location "$region" --runtime custom -o tsv 2>/dev/null || true)
    if [ -z "$runtimes" ]; then
      echo "preflight: Flex Consumption does not offer the custom runtime in $region." >&2
      echo "  Choose another region (az functionapp list-flexconsumption-locations -o table)," >&2
      echo "  or deploy with -p hostingPlan=ElasticPremium." >&2
      exit 1
    fi
    echo "preflight: Flex Consumption offers the custom runtime in $region"
    ;;
  ElasticPremium)
    echo "preflight: Elastic Premium runs custom handlers on Linux in every region that has Functions Premium"
    ;;
  *)
    echo "preflight: unknown hosting plan '$plan' (FlexConsumption or ElasticPremium)" >&2
    exit 2
    ;;
esac
