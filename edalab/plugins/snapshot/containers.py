"""Saving and loading one service's state containers, as LocalStack's persistence finds them.

Why this exists: a service says where its state is through `Service.accept_state_visitor`: it
visits its `AccountRegionBundle` stores, its moto `BackendDict` and any `AssetDirectory` on disk.
The community edition ships that visitor API and a dill pickler (`localstack.state.pickle`) but
no visitor that writes or reads a snapshot; these two do, one file per service:

- a bundle is saved as its stores by account and region plus the cross-account attributes, and
  loaded into the SAME bundle object (providers and hooks hold references to it), with each
  store re-linked to its region's and the account's shared attribute dicts;
- a moto backend dict is saved as its region backends by account, and loaded the same way;
- an asset directory is copied beside the pickle (`asset_copy`: consistently, as the service may
  be writing to it) and copied back over the live one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from localstack.services.stores import AccountRegionBundle
from localstack.state import AssetDirectory, StateVisitor
from localstack.state import pickle as state_pickle
from moto.core.base_backend import BackendDict

from edalab.plugins.snapshot.asset_copy import copy_assets
from edalab.plugins.snapshot.reducers import register_reducers


class _Collector(StateVisitor):
    def __init__(self) -> None:
        self.found: list = []

    def visit(self, state_container) -> None:
        self.found.append(state_container)


def state_containers(service) -> list:
    """The containers a loaded `Service` visits, in the order it visits them."""
    collector = _Collector()
    service.accept_state_visitor(collector)
    return collector.found


def _bundle_image(bundle: AccountRegionBundle) -> dict:
    return {
        "accounts": {account: {"global": dict(regions._global), "stores": dict(regions)}
                     for account, regions in bundle.items()},
        "universal": dict(bundle._universal),
    }


def _load_bundle(bundle: AccountRegionBundle, image: dict) -> None:
    bundle.reset()
    bundle._universal.update(image["universal"])
    for account, saved in image["accounts"].items():
        regions = bundle[account]  # a RegionBundle linked to this bundle's lock and universal dict
        regions._global.update(saved["global"])
        for region, store in saved["stores"].items():
            store._global, store._universal = regions._global, bundle._universal
            dict.__setitem__(regions, region, store)


def _backends_image(backends: BackendDict) -> dict:
    return {account: dict(regions) for account, regions in backends.items()}


def _load_backends(backends: BackendDict, image: dict) -> None:
    backends.clear()
    for account, regions in image.items():
        live = backends[account]  # moto builds the account's container; its regions come from the image
        live.clear()
        dict.update(live, regions)


def save(service, folder: Path) -> list[str]:
    """Writes the service's containers under `folder`. Returns what it saved, for the answer."""
    register_reducers()
    images, saved = [], []
    for index, container in enumerate(state_containers(service)):
        if isinstance(container, AccountRegionBundle):
            images.append(("bundle", _bundle_image(container)))
            saved.append(f"stores {container.service_name}")
        elif isinstance(container, BackendDict):
            images.append(("moto", _backends_image(container)))
            saved.append(f"moto {container.service_name}")
        elif isinstance(container, AssetDirectory):
            source = Path(container.path)
            if source.is_dir():
                copy_assets(source, folder / f"assets-{index}")  # the service may be writing to it meanwhile
            images.append(("assets", source.is_dir()))
            saved.append(f"files {container.service_name}")
        else:
            images.append(("unknown", type(container).__name__))
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "state.pickle", "wb") as out:
        state_pickle.dump(images, out)
    return saved


def read(folder: Path) -> list:
    """The saved images of one service, unpickled (before anything live is touched)."""
    register_reducers()
    with open(folder / "state.pickle", "rb") as saved:
        return state_pickle.load(saved)


def apply(service, images: list, folder: Path) -> None:
    """Puts the saved containers back into the live ones of a loaded service."""
    containers = state_containers(service)
    if len(containers) != len(images):
        raise ValueError(f"{service.name()} has {len(containers)} state containers; the snapshot has {len(images)}")
    for index, (container, (kind, image)) in enumerate(zip(containers, images, strict=True)):
        if kind == "bundle":
            _load_bundle(container, image)
        elif kind == "moto":
            _load_backends(container, image)
        elif kind == "assets":
            target = Path(container.path)
            shutil.rmtree(target, ignore_errors=True)
            if image:
                shutil.copytree(folder / f"assets-{index}", target, symlinks=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
