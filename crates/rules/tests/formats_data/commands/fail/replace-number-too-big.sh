iptables -A INPUT -s 1.2.3.4 -j ACCEPT
iptables -R INPUT 2 -j DROP
