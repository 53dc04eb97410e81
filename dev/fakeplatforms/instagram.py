"""The Instagram business accounts fake's controls and oracle under /_fake/instagram/; its Graph
surface is the Meta fake's host (see `organic`)."""

from . import organic

PREFIX = "/instagram"
handle = organic.handler("instagram")
