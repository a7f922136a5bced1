"""The engine's running services and their providers, found without loading any service.

Why this exists: LocalStack loads a service on its first request. A reset or a restore must touch
only the services that are loaded (a service never used has no state), and asking the plugin
manager for a service by name would load it. This module reads the loaded ones.
"""

from __future__ import annotations


def running_services() -> dict:
    """name -> `localstack.services.plugins.Service`, for every service that is running now."""
    from localstack.services.plugins import SERVICE_PLUGINS, ServiceState

    return {
        container.service.name(): container.service
        for container in SERVICE_PLUGINS._get_loaded_service_containers()
        if container.state == ServiceState.RUNNING
    }


def provider(name: str):
    """The running provider of service `name`, or None (not loaded, or not running)."""
    service = running_services().get(name)
    return getattr(service, "_provider", None) if service else None
