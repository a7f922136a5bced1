"""Lambda's background work: event source mapping workers and function processes, stopped in parallel.

Why this exists: LocalStack's own reset hook (`LambdaProvider.on_before_state_reset`) stops the
mapping workers one by one and then `LambdaService.stop()`, which stops at most six versions at a
time; each version stops its execution environments one after the other (ours close a Runtime API
server: up to 0.5 s each), and each asynchronous-invoke poller is joined while it waits out a 2 s
receive on Lambda's internal queue: 1.9 s of a 2 s reset measured with every lab deployed. Here
every poller is told to stop and its wait is ended first (`signal_stop`; the state's queues are
closed by `sqs_runtime`), then every execution environment (one function process each) and
every event manager stops in a thread of its own, then the versions (nothing left to stop but
their log threads), and the mapping workers' threads are joined.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait

from edalab.plugins.reset import bounded, services

LOG = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0


def _internal_queue(event_manager):
    """The internal queue an event manager's poller waits on (LocalStack's fake SQS), or None."""
    from localstack.services.lambda_.invocation.internal_sqs_queue import get_fake_sqs_client

    name = getattr(event_manager, "event_queue_url", None)
    return get_fake_sqs_client().queue_manager.queues.get(name) if name else None


def _local_executors() -> list:
    """Every live executor of ours (LAMBDA_RUNTIME_EXECUTOR=local; none with another executor)."""
    from edalab.plugins.lambda_ import executor

    return executor.live_executors()


def signal_stop() -> None:
    """Tells every mapping worker and every asynchronous-invoke poller to stop, and ends their
    waits (returns at once)."""
    provider = services.provider("lambda")
    if provider is None:
        return
    for worker in list(provider.esm_workers.values()):
        worker.stop_for_shutdown()  # ours (sqs_polling.InterruptibleEsmWorker) also ends its wait
    for event_manager in list(provider.lambda_service.event_managers.values()):
        poller = getattr(event_manager, "poller", None)
        if poller is not None:
            poller.stop()
        queue = _internal_queue(event_manager)
        if queue is not None:
            queue.shutdown()  # its 2 s receive returns now; the queue is deleted by the manager's stop


def _in_parallel(calls: list, what: str) -> int:
    """Runs every call in a thread of its own, waiting at most STOP_TIMEOUT_SECONDS (a call still
    running then is left to its thread, and logged); returns how many there were."""
    if not calls:
        return 0
    # not `with`: its exit waits for every thread, so a stop that hangs would hold the reset lock for good
    pool = ThreadPoolExecutor(max_workers=min(len(calls), 64), thread_name_prefix="edalab-reset-lambda")
    futures = []
    try:
        futures.extend(pool.submit(call) for call in calls)
        _, late = wait(futures, timeout=STOP_TIMEOUT_SECONDS)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for future in futures:
        if future.done() and not future.cancelled() and future.exception():
            LOG.warning("edalab: stopping a Lambda %s failed: %s", what, future.exception())
    if late:
        LOG.warning("edalab: %d Lambda %s had not stopped after %.0f s; the reset goes on without them",
                    len(late), what, STOP_TIMEOUT_SECONDS)
    return len(calls)


def _stop_environment(assignments, environment) -> None:
    """Stops one execution environment (kills its function process); unlike LocalStack's
    `stop_environment`, a failure is logged where it can be seen."""
    try:
        environment.stop()
    finally:
        assignments.environments.get(environment.version_manager_id, {}).pop(environment.id, None)


def stop() -> dict[str, int]:
    """Stops the mapping workers and every function version of the loaded state; the provider gets a
    fresh, empty LambdaService. Returns once every function process is killed and reaped."""
    from localstack.services.lambda_.invocation.lambda_service import LambdaService

    provider = services.provider("lambda")
    if provider is None:
        return {}
    signal_stop()
    workers, provider.esm_workers = list(provider.esm_workers.values()), {}
    old = provider.lambda_service
    provider.router.lambda_service = provider.lambda_service = LambdaService()

    event_managers = list(old.event_managers.values())
    # an asynchronous invoke its poller handed over already still runs in the poller's pool
    pollers = [manager.poller for manager in event_managers if getattr(manager, "poller", None) is not None]
    versions = list(old.lambda_running_versions.values()) + list(old.lambda_starting_versions.values())
    starting = list(old.lambda_starting_versions.values())
    old.event_managers.clear()
    old.lambda_running_versions.clear()
    old.lambda_starting_versions.clear()
    assignments = old.assignment_service
    environments = [environment for by_id in list(assignments.environments.values())
                    for environment in list(by_id.values())]
    # an environment still starting is in no list of LocalStack's until it has started: its
    # executor (ours, LAMBDA_RUNTIME_EXECUTOR=local) is stopped directly
    tracked = {id(environment.runtime_executor) for environment in environments}
    starting_executors = [executor for executor in _local_executors()
                          if id(executor) not in tracked and not executor.stopped]
    counts = {"environments": len(environments), "starting_environments": len(starting_executors),
              "event_managers": len(event_managers)}
    # every function process and every poller at once; then the versions, which have nothing left to wait for
    _in_parallel([lambda env=env: _stop_environment(assignments, env) for env in environments]
                 + [executor.stop for executor in starting_executors]
                 + [manager.stop for manager in event_managers], "environment or poller")
    # the asynchronous invokes already handed over end (their function is stopped): none may reach
    # the next state's Lambda
    _in_parallel([lambda poller=poller: poller.invoker_pool.shutdown(wait=True, cancel_futures=True)
                  for poller in pollers], "asynchronous invoke")
    counts["versions"] = _in_parallel([manager.stop for manager in versions]
                                      + [manager.function_version.config.code.destroy_cached for manager in starting],
                                      "version")
    bounded.within(STOP_TIMEOUT_SECONDS, lambda: old.task_executor.shutdown(cancel_futures=True),
                   "Lambda's version tasks")
    assignments.stop()
    for worker in workers:
        thread = getattr(worker, "_poller_thread", None)
        if thread is not None:
            thread.join(timeout=STOP_TIMEOUT_SECONDS)
    counts["mappings"] = len(workers)
    return counts


def _needs_localstacks_own_start(functions: list) -> bool:
    """Capacity providers and provisioned concurrency start as LocalStack's own hook starts them."""
    return any(fn.provisioned_concurrency_configs or any(version.config.capacity_provider_config
                                                         for version in fn.versions.values())
               for fn in functions)


def _start_mappings(provider) -> int:
    """A worker per event source mapping of the store, as LocalStack's `on_after_state_load`
    makes them (created stopped when the mapping is disabled)."""
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmState
    from localstack.services.lambda_.event_source_mapping.esm_worker_factory import EsmWorkerFactory
    from localstack.services.lambda_.invocation.lambda_models import State
    from localstack.services.lambda_.invocation.models import lambda_stores
    from localstack.services.lambda_.provider_utils import get_function_version_from_arn
    from localstack.utils.sync import poll_condition

    started = 0
    for _account, _region, state in list(lambda_stores.iter_stores()):
        for mapping in list(state.event_source_mappings.values()):
            function_arn = mapping.get("FunctionArn")
            if not poll_condition(lambda arn=function_arn: get_function_version_from_arn(arn).config.state.state
                                  in (State.Active, State.Failed), timeout=STOP_TIMEOUT_SECONDS):
                LOG.warning("edalab: mapping %s starts for a function that is not Active yet", mapping.get("UUID"))
            role = get_function_version_from_arn(function_arn).config.role
            enabled = mapping.get("State", EsmState.DISABLED) not in (EsmState.DISABLED, EsmState.DISABLING)
            worker = EsmWorkerFactory(mapping, role, enabled).get_esm_worker()
            worker.create()
            provider.esm_workers[worker.uuid] = worker
            started += 1
    return started


def start() -> dict[str, int]:
    """Starts every function version and event source mapping of the store, as LocalStack's own
    `on_after_state_load` does (a worker per mapping, polling when Enabled), but the versions all at
    once: started one after the other, 19 versions took 1.4-2 s."""
    import dataclasses

    from localstack.services.lambda_.invocation.lambda_models import State, StateReasonCode, VersionState
    from localstack.services.lambda_.invocation.lambda_service import LambdaService
    from localstack.services.lambda_.invocation.models import lambda_stores
    from localstack.utils.strings import short_uid

    provider = services.provider("lambda")
    if provider is None:
        return {}
    began = time.perf_counter()
    timings: dict[str, float] = {}
    functions = [fn for _a, _r, state in list(lambda_stores.iter_stores()) for fn in list(state.functions.values())]
    unused = provider.lambda_service
    if _needs_localstacks_own_start(functions):
        provider.on_after_state_load()  # installs a new LambdaService and starts the store's versions
    else:
        service = LambdaService()
        provider.router.lambda_service = provider.lambda_service = service
        starting = []
        for fn in functions:
            fn.instance_id = short_uid()  # a new engine instance's id, as after a restart
            for qualifier, version in list(fn.versions.items()):
                if version.config.state.state == State.Deleting:
                    continue
                pending = VersionState(state=State.Pending, code=StateReasonCode.Creating,
                                       reason="The function is being created.")
                fn.versions[qualifier] = dataclasses.replace(
                    version, config=dataclasses.replace(version.config, state=pending))
                starting.append(service.create_function_version(version))
        _, late = wait(starting, timeout=STOP_TIMEOUT_SECONDS)
        if late:
            LOG.warning("edalab: %d function versions had not started after %.0f s", len(late), STOP_TIMEOUT_SECONDS)
        versions_started = time.perf_counter()
        _start_mappings(provider)
        timings = {"versions_seconds": round(versions_started - began, 4),
                   "mappings_seconds": round(time.perf_counter() - versions_started, 4)}
    if unused is not provider.lambda_service:
        unused.task_executor.shutdown(cancel_futures=True)
        unused.assignment_service.stop()
    return {"functions": len(functions), "mappings": len(provider.esm_workers), **timings}
