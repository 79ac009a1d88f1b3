"""Map the top-level folders engine/, tui/ and themes/ onto the import packages
wopt.engine, wopt.tui and wopt.themes, so no bare `engine` or `tui` lands in site-packages."""
from setuptools import find_packages, setup

ROOTS = {"engine": "wopt.engine", "tui": "wopt.tui", "themes": "wopt.themes"}
packages = []
for folder, name in ROOTS.items():
    packages.append(name)
    packages += [name + p[len(folder):] for p in find_packages(include=[f"{folder}.*"])]

setup(
    packages=packages,
    package_dir={name: folder for folder, name in ROOTS.items()},
    package_data={"wopt.themes": ["*.toml"], "wopt.tui": ["*.tcss", "demo/**/*", "demo/*"], "wopt.tui.screens": ["*.tcss"], "wopt.engine": ["py.typed"]},
    include_package_data=True,
)
