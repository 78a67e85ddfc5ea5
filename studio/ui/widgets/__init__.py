"""Reusable views: images, loss curves, timeline, folder fields, dataset report, split view."""
