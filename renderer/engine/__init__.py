"""The build engine: freezing apps into build folders, page keys and the build cache, worker
processes, link checks, input fingerprints, output folders and the ``serve`` preview."""
