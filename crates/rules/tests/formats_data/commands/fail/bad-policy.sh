iptables -P INPUT REJECT
