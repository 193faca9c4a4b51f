#!/bin/sh
# azd preprovision hook (azure.yaml): what Bicep cannot find out by itself before `azd provision`, so that
# `azd up` succeeds the first time and again after `azd down`. Each check prints what it decided.
#
#   1. Key Vault: the vault has purge protection, so `azd down` leaves it soft-deleted (its name reserved
#      for softDeleteRetentionInDays) and a plain re-create fails ("already exists in deleted state").
#      If this environment's vault is soft-deleted, KEY_VAULT_CREATE_MODE=recover makes infra/ recover it.
#   2. GPU worker (WORKER_USE_GPU=true only): the workload profile must exist in the worker's region and the
#      subscription's serverless GPU quota there must cover WORKER_MAX_REPLICAS; otherwise stop here and say
#      exactly what to change, instead of failing 15 minutes into the deployment.
#   3. Upload event subscription: declared in Bicep only while the Event Grid-triggered function exists
#      (the code is deployed); otherwise the api postdeploy hook creates it after the next deploy.
#
# Needs the Azure CLI signed in to the same subscription (`az login`, or azure/login in CI). Without it the
# checks are skipped with a warning. Runs with sh on every OS (on Windows: Git for Windows' sh or WSL).
set -eu

say() { printf '[preprovision] %s\n' "$*"; }

if ! az account show --output none 2>/dev/null; then
  say "warning: the Azure CLI is not signed in (az login): Key Vault recovery, GPU quota and blob trigger checks skipped"
  exit 0
fi

# --- 1. Key Vault ------------------------------------------------------------------------------------------------
vault="${AZURE_KEY_VAULT_NAME:-}"
if [ -z "$vault" ]; then
  # No earlier provisioning recorded in this azd environment (a new clone, or .azure/ deleted): look for a
  # soft-deleted vault that carries this environment's tag in this region.
  vault=$(az keyvault list-deleted --resource-type vault \
    --query "[?properties.tags.\"azd-env-name\"=='${AZURE_ENV_NAME}' && properties.location=='${AZURE_LOCATION}'].name | [0]" \
    --output tsv 2>/dev/null || true)
  if [ -n "$vault" ]; then
    azd env set AZURE_KEY_VAULT_NAME "$vault"
  fi
fi
mode=default
if [ -n "$vault" ] && [ -n "$(az keyvault show-deleted --name "$vault" --query name --output tsv 2>/dev/null || true)" ]; then
  mode=recover
  say "Key Vault $vault is soft-deleted (purge protection keeps it): it will be recovered"
fi
azd env set KEY_VAULT_CREATE_MODE "$mode"

# --- 2. GPU worker -----------------------------------------------------------------------------------------------
if [ "${WORKER_USE_GPU:-false}" = "true" ]; then
  profile="${WORKER_GPU_PROFILE_TYPE:-Consumption-GPU-NC8as-T4}"
  region="${WORKER_LOCATION:-${AZURE_LOCATION}}"
  replicas="${WORKER_MAX_REPLICAS:-1}"
  supported=$(az containerapp env workload-profile list-supported --location "$region" --query "[].name" \
    --output tsv 2>/dev/null || true)
  if [ -z "$supported" ]; then
    say "warning: could not list the workload profiles of $region (az extension add --name containerapp); GPU checks skipped"
  elif ! printf '%s\n' "$supported" | grep -qx "$profile"; then
    say "error: workload profile $profile is not offered in $region."
    say "  Pick a region that offers it:   azd env set WORKER_LOCATION <region>  (see 'Serverless GPUs' in the Container Apps docs)"
    say "  or run the worker on CPUs:      azd env set WORKER_USE_GPU false"
    exit 1
  fi
  case "$profile" in
    *T4*) card=T4 ;;
    *A100*) card=A100 ;;
    *) card="" ;;
  esac
  if [ -n "$card" ] && [ "${profile#Consumption-GPU}" != "$profile" ]; then
    subscription=$(az account show --query id --output tsv)
    quota=$(az rest --method get \
      --url "https://management.azure.com/subscriptions/${subscription}/providers/Microsoft.App/locations/${region}/usages?api-version=2025-01-01" \
      --query "value[?contains(name.value, '${card}') || contains(name.localizedValue, '${card}')] | [0].[limit, currentValue]" \
      --output tsv 2>/dev/null || true)
    limit=$(printf '%s' "$quota" | cut -f1)
    used=$(printf '%s' "$quota" | cut -f2)
    if [ -z "$limit" ]; then
      say "warning: could not read the $card GPU quota of $region; check it in the portal (Quotas, Container Apps) before relying on WORKER_MAX_REPLICAS=$replicas"
    else
      free=$(( ${limit%.*} - ${used%.*} ))
      if [ "$free" -lt "$replicas" ]; then
        say "error: WORKER_MAX_REPLICAS=$replicas needs $replicas serverless $card GPUs in $region; the subscription has $free free (limit $limit, in use $used)."
        if [ "$free" -gt 0 ]; then
          say "  Stay within the quota:      azd env set WORKER_MAX_REPLICAS $free"
        fi
        say "  or request more quota:      Azure portal > Quotas > Container Apps > 'Managed Environment Consumption $card GPUs' in $region"
        say "  or run the worker on CPUs:  azd env set WORKER_USE_GPU false"
        exit 1
      fi
      say "GPU quota: $free of $limit serverless $card GPUs free in $region; WORKER_MAX_REPLICAS=$replicas fits"
    fi
  fi
fi

# --- 3. Blob trigger event subscription ----------------------------------------------------------------------------
if [ "${BLOB_EVENT_SUBSCRIPTION_ENABLED:-false}" = "true" ]; then
  function_id=""
  if [ -n "${AZURE_FUNCTION_APP_NAME:-}" ] && [ -n "${AZURE_RESOURCE_GROUP:-}" ]; then
    function_id=$(az functionapp function show --resource-group "$AZURE_RESOURCE_GROUP" \
      --name "$AZURE_FUNCTION_APP_NAME" --function-name "${BLOB_TRIGGER_FUNCTION_NAME:-on_video_uploaded}" \
      --query id --output tsv 2>/dev/null || true)
  fi
  if [ -z "$function_id" ]; then
    say "the function app has no ${BLOB_TRIGGER_FUNCTION_NAME:-on_video_uploaded} function yet (code not deployed): the event subscription waits for the api postdeploy hook"
    azd env set BLOB_EVENT_SUBSCRIPTION_ENABLED false
  fi
fi
