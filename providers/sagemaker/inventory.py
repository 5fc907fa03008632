"""What ``hostkit ls`` and ``hostkit providers`` see of SageMaker.

* :func:`list_tagged`: every endpoint of the region that carries hostkit's
  ``hostkit:deployment`` tag (``ListEndpoints``, then ``ListTags`` and
  ``DescribeEndpoint`` for each), so an endpoint deployed from another machine shows
  up. AWS scopes the listing to the credentials' account and the configured region.
* :func:`credential_source`: where boto3's chain found credentials (the chain's
  method and the profile; never a key).
* :func:`check_access`: ``ListEndpoints`` with ``MaxResults=1``, the cheapest
  authenticated SageMaker read.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from hostkit._models import Deployment

if TYPE_CHECKING:
    from hostkit_providers.sagemaker.provider import SageMakerProvider

#: boto3's credential-provider ``method`` names, in words
METHODS = {
    "env": "environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
    "explicit": "keys given to the boto3 session",
    "shared-credentials-file": "AWS shared credentials file {credentials} (profile {profile})",
    "config-file": "AWS config file {config} (profile {profile})",
    "sso": "AWS IAM Identity Center (SSO) login (profile {profile})",
    "assume-role": "an assumed role (profile {profile})",
    "assume-role-with-web-identity": "a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)",
    "custom-process": "a credential_process command (profile {profile})",
    "container-role": "the container's task role (ECS/EKS)",
    "iam-role": "the EC2 instance role (instance metadata)",
}


def credential_source(provider: SageMakerProvider) -> str | None:
    """Where boto3's default chain finds credentials, in words; None: it finds none."""
    session = provider._boto_session()
    credentials = provider.call(session.get_credentials)
    if credentials is None:
        return None
    method = str(getattr(credentials, "method", "") or "")
    profile = provider.setting("profile") or os.environ.get("AWS_PROFILE") or "default"
    words = METHODS.get(method, f"the AWS credential chain ({method or 'unknown link'})")
    return words.format(
        profile=profile,
        credentials=os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
        config=os.environ.get("AWS_CONFIG_FILE", "~/.aws/config"),
    )


def check_access(provider: SageMakerProvider) -> None:
    sm = provider._client("sagemaker")
    provider.call(lambda: sm.list_endpoints(MaxResults=1))


def _deployment(provider: SageMakerProvider, name: str, tags: dict[str, str]) -> Deployment:
    from hostkit_providers.sagemaker.provider import TAG

    return Deployment(
        name=name,
        provider=provider.name,
        model=tags.get(TAG + "model", ""),
        status="pending",
        instance=tags.get(TAG + "instance"),
        region=provider.region,
        fingerprint=tags.get(TAG + "fingerprint"),
        raw={
            "kind": tags.get(TAG + "kind", "raw"),
            "model_name": provider.names(name).model,
            "managed_by_hostkit": True,
        },
    )


def list_tagged(provider: SageMakerProvider) -> list[Deployment]:
    """Every live endpoint tagged ``hostkit:deployment`` in the region."""
    from hostkit_providers.sagemaker.provider import TAG

    sm = provider._client("sagemaker")
    found: list[Deployment] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 100, **({"NextToken": token} if token else {})}
        page = provider.call(lambda kwargs=kwargs: sm.list_endpoints(**kwargs))
        for summary in page.get("Endpoints") or []:
            if summary.get("EndpointStatus") == "Deleting":
                continue
            tags = provider._tags(summary["EndpointArn"])
            name = tags.get(TAG + "deployment")
            described = provider._describe(summary["EndpointName"]) if name else None
            if not name or described is None:
                continue
            deployment = provider._merge(_deployment(provider, name, tags), described)
            created = summary.get("CreationTime")
            if created is not None:
                deployment.raw["created_at"] = created.isoformat()
            found.append(deployment)
        token = page.get("NextToken")
        if not token:
            return found
