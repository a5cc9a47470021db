"""Operator pages (运营管理): the audit log viewer."""
