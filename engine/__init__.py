"""Lumigrade's engine: colour science, media I/O, operators and the render pipeline.

Nothing under engine/ imports Qt or app/.
"""
