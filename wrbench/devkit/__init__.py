"""Tools for plugin authors: the conformance kit and the plugin scaffold."""
