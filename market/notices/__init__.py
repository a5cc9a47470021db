"""Public 协议定价公示 pages: the notice list with countdowns and the objection form."""
