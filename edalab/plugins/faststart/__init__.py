"""What makes the engine answer sooner after it starts (issue #18: start to healthy ≤ 1.5 s).

LocalStack's start is mostly Python importing its own code (~0.7 s for the gateway alone) and
running start-up hooks; what the labs never need at start has been moved off that path:
- `gc_pause`: no garbage collection while the start imports (CPython's collector kept walking
  the growing heap: ~0.25 s of the start's CPU); on at ready, with the start's objects frozen;
- `service_catalog`: LocalStack's index of every AWS API (which service a request is for) is
  built on the first request of each new state folder (~4 s); it is kept in a shared cache and
  handed to every new engine, and loaded in the background once the engine is ready.
Our other plugins patch LocalStack's services when those are first imported, not at start
(`edalab.plugins.on_import`), and our providers' entry points import nothing heavy
(`edalab.plugins.providers`). `EDALAB_STOCK_SERVICES=faststart` leaves this package's hooks out.

Nothing here imports LocalStack at package import time.
"""
