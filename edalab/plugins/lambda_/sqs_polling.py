"""Start-up hook (issue #13; being written)."""

from localstack.runtime import hooks


@hooks.on_infra_start()
def install_sqs_polling():
    """Installs the fix when the engine starts."""
