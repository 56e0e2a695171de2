"""Deployment scripts and configuration, run from the repository root (``python -m deploy.…``);
nothing here is installed with the packages. Readers of the build's rule files live in
:mod:`renderer.deploy`. This file stays: without it ``deploy`` would be a namespace package,
and a regular ``deploy`` package installed anywhere on the path would hide these modules."""
