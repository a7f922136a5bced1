"""LocalStack Lambda runtime executor `local`: each execution environment is a local process.

Why this exists: LocalStack's stock executor starts a Docker container per execution
environment and downloads its init binary; neither works on a machine with no Docker engine
and no internet. This executor keeps LocalStack's Lambda service (versions, concurrency,
event source mappings, destinations, logs) and replaces only the container: it serves the
Lambda Runtime API itself (`runtime_api`), runs `awslambdaric` in a child process
(`function_process`), and does what the container's init did: enforce the timeout, write the
START/END/REPORT lines, and report errors in AWS's shapes.

Select it with LAMBDA_RUNTIME_EXECUTOR=local. Python runtimes only: the function runs on the
engine's own interpreter (see the README for what that means for dependencies).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import time
import weakref
from datetime import UTC, datetime
from pathlib import Path

from localstack.services.lambda_.invocation.executor_endpoint import StatusErrorException
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

from edalab.plugins.lambda_ import cpu_share
from edalab.plugins.lambda_.function_process import FunctionProcess
from edalab.plugins.lambda_.runtime_api import Event, Outcome, RuntimeApi, error_body

LOG = logging.getLogger(__name__)

# How long a runtime may take to import the handler before its start counts as failed.
INIT_TIMEOUT_SECONDS = float(os.environ.get("EDALAB_LAMBDA_INIT_TIMEOUT", "20"))
# How often a waiting invoke looks whether the process is still alive.
_LIVENESS_SLICE = 0.1
# Variables of the engine's host environment that a function may see; everything else
# (LocalStack's own configuration, the user's shell) stays out.
_HOST_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")


@dataclasses.dataclass
class MeasuredInvocationResult(InvocationResult):
    """An invocation's result with the duration its REPORT line shows (read by `metrics` for
    Lambda's `Duration` metric; None when the function never ran, e.g. its init failed)."""

    duration_ms: float | None = None


# Every executor not yet garbage collected: an engine reset stops those LocalStack no longer
# tracks, such as one still starting (edalab/plugins/reset/lambda_runtime.py).
_executors: weakref.WeakSet[LocalRuntimeExecutor] = weakref.WeakSet()


def live_executors() -> list[LocalRuntimeExecutor]:
    return list(_executors)


def _pid_dir() -> Path | None:
    state = os.environ.get("EDALAB_STATE_DIR")
    return Path(state) / "functions" if state else None


class LocalRuntimeExecutor(RuntimeExecutor):
    """Runs one execution environment of a Python function as a local process."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:  # noqa: A002
        super().__init__(id=id, function_version=function_version)
        self._api: RuntimeApi | None = None
        self._process: FunctionProcess | None = None
        self._env: dict[str, str] = {}
        self._init_ms: float | None = None
        self.stopped = False
        _executors.add(self)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, env_vars: dict[str, str]) -> None:
        config = self.function_version.config
        runtime = str(config.runtime or "")
        if not runtime.startswith("python"):
            raise LambdaRuntimeException(
                f"The local executor runs Python functions only; {config.runtime!r} needs the "
                "container engine (EDALAB_ENGINE=container)."
            )
        self._api = RuntimeApi()
        self._env = self._function_environment(env_vars, runtime)
        self._spawn()

    def stop(self) -> None:
        self.stopped = True  # a start under way kills what it started (see _spawn)
        if self._process is not None:
            self._process.kill()
            self._process = None
        if self._api is not None:
            self._api.close()
            self._api = None

    def _code_dir(self) -> Path:
        return Path(self.function_version.config.code.get_unzipped_code_location())

    def _function_environment(self, env_vars: dict[str, str], runtime: str) -> dict[str, str]:
        env = {name: os.environ[name] for name in _HOST_VARIABLES if name in os.environ}
        env.update({name: str(value) for name, value in env_vars.items()})
        code_dir = str(self._code_dir())
        env.update(
            {
                "LAMBDA_TASK_ROOT": code_dir,
                "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).parent),
                "AWS_LAMBDA_RUNTIME_API": self._api.address,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
                # the SDK app id marks the function's calls for the usage meter (usage/callers.py)
                "AWS_SDK_UA_APP_ID": f"edalab-function.{self.function_version.id.function_name}",
                "PYTHONPATH": code_dir,
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        return env

    def _spawn(self) -> None:
        """Starts the runtime process and waits until it asks for its first event."""
        self._api.expect_restart()
        started = time.monotonic()
        self._process = FunctionProcess(
            [sys.executable, "-m", "edalab.plugins.lambda_.function_bootstrap", self.function_version.config.handler],
            env=self._env,
            cwd=self._code_dir(),
            pid_dir=_pid_dir(),
            cpu_group=cpu_share.group_for_version(self.function_version),
        )
        if self.stopped:  # stopped while the process was being started: it must not outlive the stop
            self._process.kill()
            self._process = None
            raise LambdaRuntimeException("The execution environment was stopped while it started.")
        outcome = self._wait(INIT_TIMEOUT_SECONDS)
        if outcome is not None and outcome.kind == "ready":
            self._init_ms = (time.monotonic() - started) * 1000
            if self._process.cpu_group is not None:
                self._process.cpu_group.end_init()  # invokes run on the memory's share of CPU
            return
        # The runtime could not load the handler: report it the way Lambda does.
        if outcome is None:
            body = error_body(
                "Runtime.InitError",
                f"Init timed out after {INIT_TIMEOUT_SECONDS:.2f} seconds",
            )
        elif outcome.kind == "init_error":
            body = outcome.body
        else:
            body = error_body(
                "Runtime.ExitError",
                f"Runtime exited with error: exit status {outcome.exit_code}",
            )
        output = self._process.output.take()
        self._process.kill()
        self._process = None
        LOG.warning("Function %s failed to start: %s\n%s", self.function_version.id.function_name, body, output)
        raise StatusErrorException("Environment startup failed", payload=body)

    def _wait(self, timeout: float) -> Outcome | None:
        """The next outcome from the runtime, an `exited` outcome if the process died, or
        None when `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            outcome = self._api.wait_outcome(min(remaining, _LIVENESS_SLICE))
            if outcome is not None:
                return outcome
            code = self._process.exit_code()
            if code is not None:
                # a last look: the process may have answered just before it exited
                return self._api.wait_outcome(0) or Outcome("exited", exit_code=code)

    # -- invocations -----------------------------------------------------------------------
    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        config = self.function_version.config
        init_ms = None
        before = ""
        if self._process is None or self._process.is_dying_or_dead():
            # the previous process timed out or crashed: a fresh one, with a fresh init
            if self._process is not None:
                before = self._process.output.take()
                self._process.kill()
            try:
                self._spawn()
            except StatusErrorException as error:
                return InvocationResult(request_id, error.payload, is_error=True, logs=before)
        if self._init_ms is not None:
            init_ms, self._init_ms = self._init_ms, None
        before += self._process.output.take()  # what init printed belongs before START

        timeout = float(config.timeout)
        started = time.monotonic()
        self._api.hand_over(
            Event(
                request_id=request_id,
                payload=payload["payload"].encode(),
                function_arn=payload["invoked-function-arn"],
                trace_id=payload.get("trace-id", ""),
                deadline_ms=int((time.time() + timeout) * 1000),
            )
        )
        outcome = self._wait(timeout)
        duration_ms = (time.monotonic() - started) * 1000
        memory_mb = self._process.max_memory_mb()
        during = self._process.output.take()

        if outcome is not None and outcome.kind == "response":
            result_body, is_error, tail = outcome.body, False, ""
        elif outcome is not None and outcome.kind == "error":
            result_body, is_error, tail = outcome.body, True, ""
        elif outcome is None:
            timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            message = f"Task timed out after {timeout:.2f} seconds"
            result_body = error_body("Sandbox.Timedout", f"RequestId: {request_id} Error: {message}")
            is_error, tail = True, f"{timestamp} {request_id} {message}\n"
            self._api.drop_pending_events()
            self._process.kill()  # the next invoke starts a new process
        else:
            message = f"Runtime exited with error: exit status {outcome.exit_code}"
            result_body = error_body("Runtime.ExitError", f"RequestId: {request_id} Error: {message}")
            is_error, tail = True, f"RequestId: {request_id} Error: {message}\n"
            self._api.drop_pending_events()
            self._process.kill()

        logs = before + self._log_frame(request_id, during + tail, duration_ms, memory_mb, init_ms)
        return MeasuredInvocationResult(
            request_id, result_body, is_error=is_error, logs=logs, duration_ms=round(duration_ms, 2)
        )

    def _log_frame(
        self, request_id: str, body: str, duration_ms: float, memory_mb: int, init_ms: float | None
    ) -> str:
        config = self.function_version.config
        if body and not body.endswith("\n"):
            body += "\n"
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {config.memory_size} MB\t"
            f"Max Memory Used: {memory_mb} MB"
        )
        if init_ms is not None:
            report += f"\tInit Duration: {init_ms:.2f} ms"
        return (
            f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}\n"
            f"{body}END RequestId: {request_id}\n{report}\t\n"
        )

    # -- what LocalStack asks of every executor -------------------------------------------
    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        # Only used to fill LOCALSTACK_RUNTIME_ENDPOINT; the local runtime talks to our own API.
        from localstack import config

        return f"http://127.0.0.1:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        return self._process.output.history() if self._process else ""

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        # Unzips the code once per version; nothing to pull or download.
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        return None

    @classmethod
    def validate_environment(cls) -> bool:
        return True


class LocalRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "local"

    def load(self, *args, **kwargs):
        from edalab.plugins.lambda_ import trace_header

        trace_header.install()  # each invocation's X-Ray header, by its TracingConfig mode (trace_header.py)
        return LocalRuntimeExecutor
