#!/usr/bin/env bash
# The steps of .github/workflows/deploy.yml that talk to Azure, one subcommand each, so that both
# environments (staging, production) and a person at a terminal run the same commands.
# Needs: az (signed in: azure/login, or `az login`), azd (signed in on its own: `azd auth login`, in CI
# `azd auth login --federated-credential-provider github`, which outlives the Azure CLI's OIDC sign-in),
# and for `live` the GitHub CLI (gh, with GH_TOKEN).
#
#   deploy.sh select                 create the local azd environment $AZURE_ENV_NAME and load the outputs
#                                    of its last provisioning (none on a first deployment)
#   deploy.sh live                   print what runs now: image=<worker image> and ref=<commit of the last
#                                    successful GitHub deployment to $DEPLOY_ENVIRONMENT> (KEY=VALUE lines)
#   deploy.sh provision IMAGE        azd provision, keeping the worker on IMAGE (empty: the placeholder)
#   deploy.sh release IMAGE          run the worker on IMAGE, `azd deploy api`, publish web/ when it exists;
#                                    prints api_url=<function app address>
#   deploy.sh rollback IMAGE DIR     the worker back on IMAGE, the function app (and web/) redeployed from
#                                    DIR, a checkout of the previous release
#
# Names read from the azd environment (outputs of infra/main.bicep): AZURE_RESOURCE_GROUP,
# SERVICE_WORKER_NAME, FUNCTION_APP_URL, STATIC_WEB_APP_NAME. The worker image goes to infra through
# SERVICE_WORKER_IMAGE_NAME (infra/main.parameters.json: workerImage).
set -euo pipefail
cd "$(dirname "$0")/.."
# Results (KEY=VALUE lines, for $GITHUB_OUTPUT) go to the original stdout, kept as fd 3; everything else,
# the tools' own output included, goes to stderr.
exec 3>&1 1>&2

SWA_CLI="@azure/static-web-apps-cli@2.0.10"

say() { printf '[deploy] %s\n' "$*" >&2; }
value() { azd env get-value "$1" 2>/dev/null || true; }

set_worker_image() {  # the worker container app on image $1 (a new revision); remembered for later provisions
  local rg worker
  rg=$(value AZURE_RESOURCE_GROUP); worker=$(value SERVICE_WORKER_NAME)
  say "worker $worker -> $1"
  az containerapp update --resource-group "$rg" --name "$worker" --image "$1" --output none
  azd env set SERVICE_WORKER_IMAGE_NAME "$1"
}

deploy_code() {  # the function app, and web/ (static files) to the Static Web App when the folder exists
  azd deploy api --no-prompt
  if [ -d web ]; then
    local swa token
    swa=$(value STATIC_WEB_APP_NAME)
    token=$(az staticwebapp secrets list --name "$swa" --resource-group "$(value AZURE_RESOURCE_GROUP)" \
      --query properties.apiKey --output tsv)
    say "publishing web/ to $swa"
    npx --yes "$SWA_CLI" deploy ./web --env production --deployment-token "$token"
  fi
}

case "${1:-}" in
  select)
    : "${AZURE_ENV_NAME:?}" "${AZURE_SUBSCRIPTION_ID:?}" "${AZURE_LOCATION:?}"
    az extension add --name containerapp --upgrade --only-show-errors
    azd env select "$AZURE_ENV_NAME" 2>/dev/null ||
      azd env new "$AZURE_ENV_NAME" --subscription "$AZURE_SUBSCRIPTION_ID" --location "$AZURE_LOCATION" --no-prompt
    azd env refresh --no-prompt || say "no earlier provisioning of $AZURE_ENV_NAME: a first deployment"
    ;;
  live)
    : "${GITHUB_REPOSITORY:?}" "${DEPLOY_ENVIRONMENT:?}"
    rg=$(value AZURE_RESOURCE_GROUP); worker=$(value SERVICE_WORKER_NAME); image=""
    if [ -n "$rg" ] && [ -n "$worker" ]; then
      image=$(az containerapp show --resource-group "$rg" --name "$worker" \
        --query 'properties.template.containers[0].image' --output tsv 2>/dev/null || true)
    fi
    # GitHub marks the last successful deployment to an environment "success" and older ones "inactive".
    ref=""
    for id in $(gh api "repos/$GITHUB_REPOSITORY/deployments?environment=$DEPLOY_ENVIRONMENT&per_page=30" --jq '.[].id'); do
      if [ "$(gh api "repos/$GITHUB_REPOSITORY/deployments/$id/statuses?per_page=1" --jq '.[0].state')" = "success" ]; then
        ref=$(gh api "repos/$GITHUB_REPOSITORY/deployments/$id" --jq .sha)
        break
      fi
    done
    say "running now on $DEPLOY_ENVIRONMENT: worker ${image:-none}, release ${ref:-none}"
    echo "image=$image" >&3
    echo "ref=$ref" >&3
    ;;
  provision)
    azd env set SERVICE_WORKER_IMAGE_NAME "${2:-}"  # provisioning keeps the running image
    azd provision --no-prompt
    ;;
  release)
    : "${2:?usage: deploy.sh release IMAGE}"
    set_worker_image "$2"
    deploy_code
    echo "api_url=$(value FUNCTION_APP_URL)" >&3
    ;;
  rollback)
    : "${2:?usage: deploy.sh rollback IMAGE DIR}" "${3:?usage: deploy.sh rollback IMAGE DIR}"
    set_worker_image "$2"
    rm -rf "$3/.azure" && cp -r .azure "$3/"
    (cd "$3" && deploy_code)
    echo "api_url=$(value FUNCTION_APP_URL)" >&3
    ;;
  *)
    sed -n '2,23p' "$0"
    exit 2
    ;;
esac
