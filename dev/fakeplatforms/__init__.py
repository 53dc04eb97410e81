"""Fakes of the ad platforms' public APIs, for the local stack and the tests."""
