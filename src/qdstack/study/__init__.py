"""Studies: manifests, the runner, caching and the HTML report."""
