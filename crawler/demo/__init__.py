"""The bundled sample portal and the offline demo built on it."""

from crawler.demo.portal import DemoArticle, PortalServer, load_articles

__all__ = ["DemoArticle", "PortalServer", "load_articles"]
