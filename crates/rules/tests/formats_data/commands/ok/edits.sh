# Every command that changes a table: -A -I -D (by number and by rule) -R -N -X -F -Z -P -E,
# with sudo, comments, quotes, `;` and `&&`.
sudo iptables -N WEB
sudo iptables -A WEB -p tcp --dport 80 -m comment --comment "http in" -j ACCEPT
sudo iptables -A WEB -p tcp --dport 443 -m comment --comment 'https in' -j ACCEPT
iptables -A WEB -p udp --dport 53 -j ACCEPT; iptables -A WEB -j RETURN
iptables -A INPUT -s 10.0.0.0/8,192.168.0.0/16 -j WEB
iptables -I INPUT 2 -i lo -j ACCEPT && iptables -I INPUT -m conntrack --ctstate INVALID -j DROP
iptables -D WEB 3
iptables -D WEB -p tcp --dport 443 -m comment --comment 'https in' -j ACCEPT
iptables -R WEB 1 -p tcp -m multiport --dports 80,8080 -j ACCEPT
iptables -E WEB HTTP
iptables -N OLD
iptables -A OLD -j LOG --log-prefix "old: "
iptables -F OLD
iptables -X OLD
iptables -P INPUT DROP
iptables -Z
iptables -t mangle -A PREROUTING -j MARK --set-mark 0x1
iptables -t raw -A PREROUTING -p udp --dport 53 -j CT --notrack
iptables -C INPUT -i lo -j ACCEPT
iptables -L -n
iptables -S
iptables -t nat -nvL --line-numbers
