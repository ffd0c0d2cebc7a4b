iptables -A INPUT -s 10.0.0.300 -j ACCEPT
