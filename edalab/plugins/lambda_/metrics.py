"""Start-up hook (issue #13; being written)."""

from localstack.runtime import hooks


@hooks.on_infra_start()
def start_lambda_metrics():
    """Installs the fix when the engine starts."""
