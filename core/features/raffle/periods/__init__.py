"""A raffle period: its calendar, opening, closing and scheduling, and what a job left half
done."""
