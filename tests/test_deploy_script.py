"""scripts/deploy.sh (the deploy workflow's Azure steps) against stand-ins for az, azd, gh and npx that
record their arguments: which commands run in which order, and that stdout carries only KEY=VALUE lines."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import REPO

STUB = r"""#!/usr/bin/env bash
echo "$(basename "$0") $* [in $(basename "$PWD")]" >> "$CALLS"
case "$(basename "$0") $*" in
  "azd env get-value AZURE_RESOURCE_GROUP") echo rg-staging ;;
  "azd env get-value SERVICE_WORKER_NAME") echo ca-worker-1 ;;
  "azd env get-value FUNCTION_APP_URL") echo https://func-1.azurewebsites.net ;;
  "azd env get-value STATIC_WEB_APP_NAME") echo stapp-1 ;;
  "azd env get-value "*) exit 1 ;;
  "az containerapp show "*) echo acr1.azurecr.io/transcription-worker:old ;;
  "az staticwebapp secrets list "*) echo swa-token ;;
  "gh api repos/o/r/deployments?environment=staging&per_page=30 --jq .[].id") printf '3\n2\n1\n' ;;
  "gh api repos/o/r/deployments/3/statuses?per_page=1 --jq .[0].state") echo in_progress ;;
  "gh api repos/o/r/deployments/2/statuses?per_page=1 --jq .[0].state") echo success ;;
  "gh api repos/o/r/deployments/2 --jq .sha") echo 0123abc ;;
  *) echo "tool output that must not reach stdout" ;;
esac
"""


@pytest.fixture
def deploy(tmp_path):
    repo, bin_dir = tmp_path / "repo", tmp_path / "bin"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "deploy.sh", repo / "scripts" / "deploy.sh")
    (repo / ".azure" / "staging").mkdir(parents=True)
    bin_dir.mkdir()
    for tool in ("az", "azd", "gh", "npx"):
        (bin_dir / tool).write_text(STUB)
        (bin_dir / tool).chmod(0o755)
    calls = tmp_path / "calls.log"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CALLS": str(calls),
           "GITHUB_REPOSITORY": "o/r", "DEPLOY_ENVIRONMENT": "staging", "AZURE_ENV_NAME": "staging",
           "AZURE_SUBSCRIPTION_ID": "sub", "AZURE_LOCATION": "swedencentral"}

    def run(*args: str) -> tuple[str, list[str]]:
        calls.write_text("")
        done = subprocess.run(["bash", str(repo / "scripts" / "deploy.sh"), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout, [c for c in calls.read_text().splitlines() if " env get-value " not in c]

    run.repo = repo
    return run


def test_live_reports_the_running_image_and_the_last_successful_release(deploy):
    out, _ = deploy("live")
    assert out == "image=acr1.azurecr.io/transcription-worker:old\nref=0123abc\n"


def test_provision_keeps_the_running_worker_image(deploy):
    out, calls = deploy("provision", "acr1.azurecr.io/transcription-worker:old")
    assert out == ""
    assert calls == ["azd env set SERVICE_WORKER_IMAGE_NAME acr1.azurecr.io/transcription-worker:old [in repo]",
                     "azd provision --no-prompt [in repo]"]


def test_release_moves_the_worker_then_deploys_the_api_and_web(deploy):
    new = "acr1.azurecr.io/transcription-worker:f00d"
    out, calls = deploy("release", new)
    assert out == "api_url=https://func-1.azurewebsites.net\n"
    assert calls == [
        f"az containerapp update --resource-group rg-staging --name ca-worker-1 --image {new} --output none [in repo]",
        f"azd env set SERVICE_WORKER_IMAGE_NAME {new} [in repo]",
        "azd deploy api --no-prompt [in repo]",
    ]
    (deploy.repo / "web").mkdir()
    _, calls = deploy("release", new)
    assert calls[-1] == ("npx --yes @azure/static-web-apps-cli@2.0.10 deploy ./web --env production "
                         "--deployment-token swa-token [in repo]")


def test_rollback_deploys_the_previous_checkout_with_this_azd_environment(deploy):
    previous = deploy.repo / "previous"
    previous.mkdir()
    old = "acr1.azurecr.io/transcription-worker:old"
    out, calls = deploy("rollback", old, str(previous))
    assert out == "api_url=https://func-1.azurewebsites.net\n"
    assert calls[0].startswith(f"az containerapp update --resource-group rg-staging --name ca-worker-1 --image {old}")
    assert calls[-1] == "azd deploy api --no-prompt [in previous]"
    assert (previous / ".azure" / "staging").is_dir()


def test_select_creates_or_selects_the_environment(deploy):
    _, calls = deploy("select")
    # azd keeps its own sign-in (federated in CI): it is never switched to the Azure CLI's short-lived one.
    assert calls == ["az extension add --name containerapp --upgrade --only-show-errors [in repo]",
                     "azd env select staging [in repo]", "azd env refresh --no-prompt [in repo]"]


def test_usage():
    done = subprocess.run(["bash", str(REPO / "scripts" / "deploy.sh")], capture_output=True, text=True)
    assert done.returncode == 2 and "deploy.sh select" in done.stderr and done.stdout == ""
