"""技术经纪人 cockpit: proposal review queue, deal board, term sheets and 到期即转 consent pages."""
