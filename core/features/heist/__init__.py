"""The heist: a chat game on the points economy. Viewers join a crew with a stake and a risk
level; when the join window closes each one's outcome is drawn, winners are paid on the points
ledger (with a bonus by subscription tier), and the result is said in chat and posted on
Discord. See docs/heist.md."""
