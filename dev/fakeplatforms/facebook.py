"""The Facebook Pages fake's controls and oracle under /_fake/facebook/; its Graph
surface is the Meta fake's host (see `organic`)."""

from . import organic

PREFIX = "/facebook"
handle = organic.handler("facebook")
